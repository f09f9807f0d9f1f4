"""The action's settings: inputs from `action.yml` plus the optional repo config file.

Both sources are validated by the one frozen `Settings` model. An input that is
empty counts as "not given", so `.github/codeagent.yml` can fill it; an input that
is given wins over the file.

The config file is read from the repository's default branch, never from a pull
request's head or the checkout (an agent can write those), and some settings can only
be inputs: the secrets, where they are sent (the base URLs), and the trigger phrase,
which the workflow's `if:` must match. The workflow file is out of the agent's reach:
the workflow token cannot push to `.github/workflows/`.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, SecretStr,
                      ValidationInfo, field_validator, model_validator)

from codeagent.agent import CLIS
from codeagent.agent.claude import DEFAULT_TOOLS
from codeagent.changes import Caps
from codeagent.errors import ConfigError
from codeagent.gateway.egress import NetworkMode
from codeagent.prompt import check_template

PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite number above zero."""

AgentName = Literal["claude", "codex", "gemini"]

SECRET_FIELDS = ("github_token", "anthropic_api_key", "claude_code_oauth_token", "openai_api_key", "gemini_api_key")
"""Secrets: action inputs only, masked in the log, redacted from everything the action posts."""
INPUT_ONLY = (*SECRET_FIELDS, "config_file", "trigger_phrase", "anthropic_base_url", "openai_base_url",
              "gemini_base_url")
"""Settings the config file may not set: secrets, where they go, and what the workflow's `if:` matches."""
AGENT_SECRETS = {"claude": ("anthropic_api_key", "claude_code_oauth_token"), "codex": ("openai_api_key",),
                 "gemini": ("gemini_api_key",)}
"""The secret inputs each agent can use (one of them is required)."""
DEFAULT_MODELS = {name: cli.default_model for name, cli in CLIS.items()}
"""Each agent's model when `model` is empty: one its pinned CLI knows (codeagent/agent/)."""

_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[bkmg]?)b?", re.IGNORECASE)
_DOMAIN = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_MIN_MEMORY = 6 * 1024**2  # Docker refuses a memory limit under 6 MiB.
_TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_BRANCH_PART = r"(?![-/])(?!.*(?:\.\.|@\{|//))[^\s~^:?*\[\\]*"
_TEXT_RULES = {  # field: (pattern for the whole value, what is wrong when it does not match)
    "trigger_phrase": (r"\S+", "must be one word without spaces, like `/code`"),
    "branch_prefix": (_BRANCH_PART, "is not usable in a git branch name (no spaces, `..`, `~^:?*[\\`)"),
    "base_branch": (_BRANCH_PART, "is not a git branch name (no spaces, `..`, `~^:?*[\\`)"),
    "anthropic_base_url": (r"(https?://[^\s/]+\S*)?",
                           "must be an http:// or https:// URL, or empty for Anthropic's API"),
    "openai_base_url": (r"(https?://[^\s/]+\S*)?", "must be an http:// or https:// URL, or empty for OpenAI's API"),
    "gemini_base_url": (r"(https?://[^\s/]+\S*)?", "must be an http:// or https:// URL, or empty for Google's API"),
}


class Settings(BaseModel):
    """Everything a run can be configured with; input name = field name with `_` -> `-`."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", coerce_numbers_to_str=True
    )

    github_token: SecretStr
    """Token for the GitHub API and for pushing the branch (the workflow token by default)."""
    agent: AgentName = "claude"
    """The coding agent: `claude` (Claude Code), `codex` (Codex CLI) or `gemini` (Gemini CLI)."""
    anthropic_api_key: SecretStr | None = None
    """Anthropic API key, for `agent: claude`; the gateway holds it, the sandbox never does."""
    claude_code_oauth_token: SecretStr | None = None
    """Claude Pro/Max subscription token (`claude setup-token`), for `agent: claude` instead of an API key."""
    openai_api_key: SecretStr | None = None
    """OpenAI API key, for `agent: codex`."""
    gemini_api_key: SecretStr | None = None
    """Gemini API key, for `agent: gemini`."""
    anthropic_base_url: str = ""
    """Anthropic API base URL for a gateway or proxy; empty means Anthropic's own API."""
    openai_base_url: str = ""
    """OpenAI API base URL (up to `/v1`); empty means OpenAI's own API."""
    gemini_base_url: str = ""
    """Gemini API base URL; empty means Google's own API."""
    trigger_phrase: str = "/code"
    """The first word of a comment that starts a run."""
    model: str = ""
    """The agent's model; empty means its default (`sonnet`, `gpt-5.5`, `gemini-2.5-pro`)."""
    max_turns: PositiveInt = 30
    """Most agent turns before the agent is stopped."""
    timeout_minutes: PositiveNumber = 30.0
    """Wall-clock limit for the agent, in minutes."""
    max_cost_usd: PositiveNumber | None = None
    """Budget in US dollars after which the agent is stopped; None means no budget."""
    allowed_tools: tuple[str, ...] = Field(default=DEFAULT_TOOLS, min_length=1)
    """Claude Code built-in tools the agent may use (comma, space or newline separated)."""
    network: NetworkMode = "registries"
    """What the sandbox may reach through the gateway: `none`, `registries` (package registries) or `open`."""
    allowed_domains: tuple[str, ...] = ()
    """More hosts the sandbox may reach (`*.example.com` wildcards), comma, space or newline separated."""
    setup: tuple[str, ...] = ()
    """Commands run in the sandbox before the agent (`pip install -e .[test]`, `npm ci`), one per line."""
    setup_failure: Literal["stop", "continue"] = "stop"
    """When `setup` fails: `stop` before the agent starts, or `continue` with the agent anyway."""
    verify_command: str = ""
    """The project's test command, run before and after the agent; empty means detected, `none` means off."""
    verify_rounds: NonNegativeInt = 2
    """More rounds the agent gets to make failing tests pass (within the limits)."""
    dispatch_workflows: tuple[str, ...] = ()
    """Workflows (names or file names) to run on the pull request's branch after a push; needs `actions: write`."""
    branch_prefix: str = "codeagent/"
    """Prefix of the branch name; the branch is `<prefix>issue-<number>`."""
    base_branch: str = ""
    """Branch the work starts from and the PR targets; empty means the repository's default branch."""
    commit_author_name: str = Field(default="github-actions[bot]", min_length=1)
    """Author name of the commits the action makes."""
    commit_author_email: str = Field(
        default="41898282+github-actions[bot]@users.noreply.github.com", min_length=1
    )
    """Author email of the commits the action makes."""
    prompt_template: str = ""
    """Prompt template with `{title}`-style placeholders; empty means the built-in prompt."""
    sandbox_image: str = ""
    """Image the agent runs in; empty means the devcontainer's, or else the action's own."""
    sandbox_memory: str = "4g"
    """Memory limit of the sandbox container, in Docker's format (`512m`, `4g`)."""
    sandbox_cpus: PositiveNumber = 2.0
    """CPU limit of the sandbox container (fractions allowed)."""
    sandbox_pids: PositiveInt = 512
    """Process limit of the sandbox container."""
    sandbox_tmp_size: str = "1g"
    """Size of the sandbox's /tmp (a tmpfs, counted in its memory), in Docker's format."""
    max_file_size: str = "100m"
    """Largest file the action commits (GitHub refuses files over 100 MB), in Docker's size format."""
    max_change_size: str = "500m"
    """Largest total size of the files one run commits, in Docker's size format."""
    on_no_changes: Literal["close", "keep"] = "close"
    """When the agent changes nothing: `close` the draft pull request (and delete its branch if it
    holds only the first commit) or `keep` it open."""
    config_file: str = ".github/codeagent.yml"
    """Path of the optional repo config file, relative to the repository's root, read from its default branch."""

    @field_validator("allowed_tools", mode="before")
    @classmethod
    def _split_tools(cls, value: Any) -> Any:
        """Accept "Read, Edit" or "Read Edit" or one name per line, as well as a list."""
        tools = [tool for tool in re.split(r"[\s,]+", value) if tool] if isinstance(value, str) else value
        for tool in tools if isinstance(tools, (list, tuple)) else ():
            if not isinstance(tool, str) or not _TOOL_NAME.fullmatch(tool):
                raise ValueError(f"`{tool}` is not a tool name (use names like `Read Edit Bash`)")
        return tools

    @field_validator("allowed_domains", "dispatch_workflows", mode="before")
    @classmethod
    def _split_names(cls, value: Any, info: ValidationInfo) -> Any:
        """Accept a comma, space or newline separated string as well as a list."""
        names = [name for name in re.split(r"[\s,]+", value) if name] if isinstance(value, str) else value
        if info.field_name == "allowed_domains":
            for name in names if isinstance(names, (list, tuple)) else ():
                if not isinstance(name, str) or not _DOMAIN.fullmatch(name):
                    raise ValueError(f"`{name}` is not a host name (use names like `pkg.example.com` or "
                                     "`*.example.com`, without a scheme or a port)")
        return names

    @field_validator("setup", mode="before")
    @classmethod
    def _split_setup(cls, value: Any) -> Any:
        """One command per line (a YAML list in the config file works too)."""
        if isinstance(value, str):
            return [line for line in (part.strip() for part in value.splitlines()) if line]
        return value

    @model_validator(mode="after")
    def _agent_has_its_secret(self) -> "Settings":
        """The chosen agent's secret must be there (only that one)."""
        if not any(getattr(self, name) is not None and getattr(self, name).get_secret_value()
                   for name in AGENT_SECRETS[self.agent]):
            raise ValueError(_MISSING_SECRET[self.agent])
        return self

    @field_validator(*_TEXT_RULES)
    @classmethod
    def _check_text(cls, value: str, info: ValidationInfo) -> str:
        """Text settings with a shape: one word, a usable branch name, a URL."""
        pattern, problem = _TEXT_RULES[str(info.field_name)]
        if not re.fullmatch(pattern, value):
            raise ValueError(problem)
        return value

    @field_validator("sandbox_memory", "sandbox_tmp_size", "max_file_size", "max_change_size")
    @classmethod
    def _check_memory(cls, memory: str) -> str:
        """Validate Docker's memory format up front rather than when the sandbox starts."""
        memory_bytes(memory)
        return memory

    @field_validator("prompt_template")
    @classmethod
    def _check_prompt_template(cls, template: str) -> str:
        """Catch unknown placeholders before any branch or PR is created."""
        try:
            check_template(template)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        return template

    def secrets(self) -> list[str]:
        """The secret values: masked in the log, redacted from everything the action posts."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        return [value.get_secret_value() for value in values if value is not None and value.get_secret_value()]

    @property
    def agent_model(self) -> str:
        """The model the agent runs: `model`, or the agent's default."""
        return self.model or DEFAULT_MODELS[self.agent]

    def caps(self) -> Caps:
        """What one file and the whole change may weigh (`max-file-size`, `max-change-size`)."""
        return Caps(memory_bytes(self.max_file_size), memory_bytes(self.max_change_size))

    def agent_secret(self) -> tuple[str, str]:
        """The chosen agent's secret and the input it came from (the API key before a subscription token)."""
        for name in AGENT_SECRETS[self.agent]:
            value = getattr(self, name)
            if value is not None and value.get_secret_value():
                return value.get_secret_value(), input_name(name)
        raise ConfigError(_MISSING_SECRET[self.agent])

    def base_url(self) -> str:
        """The model API's base URL the workflow set for the chosen agent; "" for the vendor's own."""
        return {"claude": self.anthropic_base_url, "codex": self.openai_base_url,
                "gemini": self.gemini_base_url}[self.agent]


def memory_bytes(memory: str) -> int:
    """Docker's memory format ("512m", "4g", "1.5gb", "1073741824") in bytes."""
    match = _MEMORY.fullmatch(memory.strip())
    if not match:
        raise ValueError("must be a size like `512m` or `4g` (units b, k, m, g)")
    size = int(float(match["number"]) * _MEMORY_UNITS[match["unit"].lower()])
    if size < _MIN_MEMORY:
        raise ValueError("must be at least `6m` (Docker's minimum)")
    return size


def input_name(field: str) -> str:
    """The action input (and config key) for a settings field: `max_turns` -> `max-turns`."""
    return field.replace("_", "-")


def field_name(key: str) -> str:
    """The settings field for an input or config key: `max-turns`/`MAX_TURNS` -> `max_turns`."""
    return key.strip().lower().replace("-", "_")


_MISSING_SECRET = {
    "claude": "input `anthropic-api-key` (or `claude-code-oauth-token`): required for `agent: claude`; add "
              "`anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}` to the action's `with:` and the secret to the "
              "repository (Settings → Secrets and variables → Actions), or a Claude Pro/Max token from "
              "`claude setup-token` as `claude-code-oauth-token: ${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}`",
    "codex": "input `openai-api-key`: required for `agent: codex`; add `openai-api-key: ${{ secrets.OPENAI_API_KEY }}` "
             "to the action's `with:` and the secret to the repository (Settings → Secrets and variables → Actions)",
    "gemini": "input `gemini-api-key`: required for `agent: gemini`; add `gemini-api-key: ${{ secrets.GEMINI_API_KEY }}` "
              "to the action's `with:` and the secret to the repository (Settings → Secrets and variables → Actions)",
}
