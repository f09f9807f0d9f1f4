"""The action's settings: inputs from `action.yml` plus the optional repo config file.

Both sources are validated by the one frozen `Settings` model. An input that is
empty counts as "not given", so `.github/codeagent.yml` can fill it; an input that
is given wins over the file.
"""

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PositiveInt, SecretStr, ValidationError, ValidationInfo,
                      field_validator)

from codeagent.errors import ConfigError
from codeagent.prompt import check_template

PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite number above zero."""

DEFAULT_TOOLS = ("Bash", "Edit", "Glob", "Grep", "MultiEdit", "Read", "TodoWrite", "Write")
"""The Claude Code built-in tools the agent gets unless `allowed-tools` says otherwise."""

SECRET_FIELDS = ("github_token", "anthropic_api_key")
"""Settings that only action inputs may set, never the config file."""

_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[bkmg]?)b?", re.IGNORECASE)
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
}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


class Settings(BaseModel):
    """Everything a run can be configured with; input name = field name with `_` -> `-`."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, coerce_numbers_to_str=True
    )

    github_token: SecretStr
    """Token for the GitHub API and for pushing the branch (the workflow token by default)."""
    anthropic_api_key: SecretStr
    """Anthropic API key; the only secret the sandbox receives."""
    anthropic_base_url: str = ""
    """Anthropic API base URL for a gateway or proxy; empty means Anthropic's own API."""
    trigger_phrase: str = "/code"
    """The first word of a comment that starts a run."""
    model: str = Field(default="sonnet", min_length=1)
    """Claude model alias or full model name."""
    max_turns: PositiveInt = 30
    """Most agent turns before the agent is stopped."""
    timeout_minutes: PositiveNumber = 30.0
    """Wall-clock limit for the agent, in minutes."""
    max_cost_usd: PositiveNumber | None = None
    """Budget in US dollars after which the agent is stopped; None means no budget."""
    allowed_tools: tuple[str, ...] = Field(default=DEFAULT_TOOLS, min_length=1)
    """Claude Code built-in tools the agent may use (comma, space or newline separated)."""
    branch_prefix: str = "codeagent/"
    """Prefix of the branch name; the branch is `<prefix>issue-<number>`."""
    base_branch: str = ""
    """Branch the work starts from and the PR targets; empty means the checked-out branch."""
    commit_author_name: str = Field(default="github-actions[bot]", min_length=1)
    """Author name of the commits the action makes."""
    commit_author_email: str = Field(
        default="41898282+github-actions[bot]@users.noreply.github.com", min_length=1
    )
    """Author email of the commits the action makes."""
    prompt_template: str = ""
    """Prompt template with `{title}`-style placeholders; empty means the built-in prompt."""
    sandbox_image: str = ""
    """Image the agent runs in; empty means the action's own image."""
    sandbox_memory: str = "4g"
    """Memory limit of the sandbox container, in Docker's format (`512m`, `4g`)."""
    sandbox_cpus: PositiveNumber = 2.0
    """CPU limit of the sandbox container (fractions allowed)."""
    sandbox_pids: PositiveInt = 512
    """Process limit of the sandbox container."""
    sandbox_tmp_size: str = "1g"
    """Size of the sandbox's /tmp (a tmpfs, counted in its memory), in Docker's format."""
    on_no_changes: Literal["close", "keep"] = "close"
    """When the agent changes nothing: `close` the draft pull request (and delete its branch if it
    holds only the first commit) or `keep` it open."""
    config_file: str = ".github/codeagent.yml"
    """Path of the optional repo config file, relative to the workspace."""

    @field_validator("allowed_tools", mode="before")
    @classmethod
    def _split_tools(cls, value: Any) -> Any:
        """Accept "Read, Edit" or "Read Edit" or one name per line, as well as a list."""
        tools = [tool for tool in re.split(r"[\s,]+", value) if tool] if isinstance(value, str) else value
        for tool in tools if isinstance(tools, (list, tuple)) else ():
            if not isinstance(tool, str) or not _TOOL_NAME.fullmatch(tool):
                raise ValueError(f"`{tool}` is not a tool name (use names like `Read Edit Bash`)")
        return tools

    @field_validator(*_TEXT_RULES)
    @classmethod
    def _check_text(cls, value: str, info: ValidationInfo) -> str:
        """Text settings with a shape: one word, a usable branch name, a URL."""
        pattern, problem = _TEXT_RULES[info.field_name]
        if not re.fullmatch(pattern, value):
            raise ValueError(problem)
        return value

    @field_validator("sandbox_memory", "sandbox_tmp_size")
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
        """The secret values to mask in the log (`::add-mask::`)."""
        values = [getattr(self, name).get_secret_value() for name in SECRET_FIELDS]
        return [value for value in values if value]


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


def read_inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """The inputs given, by input name (`max-turns`), unknown ones included (see `unknown_inputs`).

    The runner passes `INPUT_MAX-TURNS`, hyphen kept; `INPUT_MAX_TURNS` is read too.
    Empty values mean "not given".
    """
    inputs: dict[str, str] = {}
    for key in sorted(environ, key=lambda key: "-" not in key):  # hyphenated spelling wins
        if key.startswith("INPUT_") and environ[key].strip():
            inputs.setdefault(input_name(field_name(key.removeprefix("INPUT_"))), environ[key])
    return inputs


def unknown_inputs(inputs: Mapping[str, str]) -> list[str]:
    """Input names in `inputs` that are not settings, for a warning."""
    return sorted(name for name in inputs if field_name(name) not in Settings.model_fields)


def load_settings(inputs: Mapping[str, str], workspace: Path, environ: Mapping[str, str]) -> Settings:
    """Validate the inputs merged over the repo config file; one `ConfigError` line per problem.

    Unknown inputs are ignored here (warn with `unknown_inputs`).
    """
    given = {field_name(name): value for name, value in inputs.items() if value.strip()}
    given = {name: value for name, value in given.items() if name in Settings.model_fields}
    config_path = given.get("config_file", Settings.model_fields["config_file"].default)
    from_file = read_config_file(workspace, config_path, environ, explicit="config_file" in given)
    sources = {name: f"`{config_path}` key `{input_name(name)}`" for name in from_file}
    sources.update({name: f"input `{input_name(name)}`" for name in given})
    try:
        return Settings.model_validate({**from_file, **given})
    except ValidationError as error:
        lines = [_describe(problem, sources) for problem in error.errors()]
        raise ConfigError("\n".join(lines)) from None


def read_config_file(workspace: Path, relative: str, environ: Mapping[str, str], explicit: bool) -> dict[str, Any]:
    """The repo config file's settings by field name, `${VAR}` expanded; {} if absent.

    A missing file is only an error when the `config-file` input named it."""
    path = workspace / relative
    if not path.is_file():
        if explicit:
            raise ConfigError(f"input `config-file`: `{relative}` does not exist in the checkout; "
                              "fix the path or remove the input")
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as error:
        raise ConfigError(f"`{relative}` is not valid YAML: {_one_line(str(error))}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"`{relative}` must be a mapping of settings like `max-turns: 20`")
    return _config_values(document, relative, environ)


def _config_values(document: dict, relative: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """Check the file's keys and expand `${VAR}` in its values."""
    values: dict[str, Any] = {}
    for key, value in document.items():
        name = field_name(str(key))
        where = f"`{relative}` key `{key}`"
        if name in SECRET_FIELDS:
            raise ConfigError(f"{where}: secrets do not belong in the repository; remove the key "
                              f"and {_MISSING_HINTS[name]}")
        if name == "config_file":
            raise ConfigError(f"{where}: the config file's path can only be set by the `config-file` input")
        if name in values:
            raise ConfigError(f"{where}: set twice (as `{input_name(name)}` and `{name}`); keep one")
        values[name] = _expand(value, environ, where)
    return values


def _expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Replace `${VAR}` in strings (also inside lists) with the environment's value."""
    if isinstance(value, list):
        return [_expand(item, environ, where) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if _SECRET_NAME.search(match[1]):
            raise ConfigError(f"{where}: `${{{match[1]}}}` looks like a secret and config values can "
                              "reach the model's prompt; pass secrets as action inputs instead")
        if match[1] not in environ:
            raise ConfigError(f"{where}: environment variable `{match[1]}` is not set; "
                              "set it in the workflow's `env:` or remove the reference")
        return environ[match[1]]

    return _ENV_REFERENCE.sub(substitute, value)


def _describe(problem: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    """One line for one pydantic error: where the value came from, what is wrong, the value."""
    name = str(problem["loc"][0])
    where = sources.get(name, f"input `{input_name(name)}`")
    kind = problem["type"]
    if kind == "missing":
        return f"{where}: required; {_MISSING_HINTS.get(name, 'set it in the workflow')}"
    if kind == "extra_forbidden":
        return f"{where}: unknown setting{_suggestion(name)}"
    got = "" if name in SECRET_FIELDS else f", got {_one_line(repr(problem['input']), 60)}"
    return f"{where}: {_reason(name, problem)}{got}"


def _reason(name: str, problem: Mapping[str, Any]) -> str:
    """What a value should have been, in words."""
    kind = problem["type"]
    if kind == "value_error":
        return str(problem["ctx"]["error"])
    if kind in _NUMBER_ERRORS:
        whole = Settings.model_fields[name].annotation is int
        return "must be a positive integer" if whole else "must be a positive number"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("list_type", "tuple_type"):
        return "must be a list of names or a comma/space separated string"
    if kind == "string_type":
        return "must be text"
    return _one_line(problem["msg"]).lower()


def _suggestion(name: str) -> str:
    """"; did you mean `max-turns`?" for a near miss, and the list of settings otherwise."""
    known = [input_name(field) for field in Settings.model_fields if field not in (*SECRET_FIELDS, "config_file")]
    close = difflib.get_close_matches(input_name(name), known, n=1)
    return f"; did you mean `{close[0]}`?" if close else f"; known settings: {', '.join(known)}"


def _one_line(text: str, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NUMBER_ERRORS = {"int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
                  "greater_than", "finite_number"}
_MISSING_HINTS = {
    "anthropic_api_key": "add `anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}` to the "
                         "action's `with:` and the secret to the repository",
    "github_token": "pass `github-token: ${{ github.token }}` (the default when the input is left out)",
}
