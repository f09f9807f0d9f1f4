"""Settings from action inputs and the repo config file, and the errors a user sees."""

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from codeagent.errors import ConfigError
from codeagent.inputs import load_settings, read_inputs, unknown_inputs
from codeagent.settings import DEFAULT_TOOLS, Settings, memory_bytes
from tests.unit.golden import FIXTURES

SECRETS = {"github-token": "ghs_workflowtoken", "anthropic-api-key": "sk-ant-key"}


def load(inputs: dict[str, str] | None = None, files: dict[str, str] | None = None, environ=None) -> Settings:
    """Settings from ``inputs`` and the default branch's ``files`` (path -> text)."""
    return load_settings({**SECRETS, **(inputs or {})}, environ or {}, (files or {}).get)


def config_error(inputs=None, files: dict[str, str] | None = None, environ=None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(inputs, files, environ)
    return str(caught.value)


def config(text: str, name: str = ".github/codeagent.yml") -> dict[str, str]:
    """The default branch with a config file holding ``text``."""
    return {name: text}


# --- inputs ---------------------------------------------------------------------------

def test_only_the_secrets_are_needed_and_the_rest_has_defaults():
    settings = load()
    assert settings.github_token.get_secret_value() == "ghs_workflowtoken"
    assert (settings.trigger_phrase, settings.agent_model, settings.max_turns) == ("/code", "sonnet", 30)
    assert settings.timeout_minutes == 30 and settings.max_cost_usd is None
    assert settings.allowed_tools == DEFAULT_TOOLS == ("Bash", "Edit", "Glob", "Grep", "MultiEdit", "Read", "TodoWrite", "Write")
    assert (settings.branch_prefix, settings.base_branch, settings.sandbox_memory) == ("codeagent/", "", "4g")
    assert settings.config_file == ".github/codeagent.yml"


def test_read_inputs_takes_hyphenated_and_underscored_names_and_skips_empty_ones():
    environ = {"INPUT_MAX-TURNS": "12", "INPUT_SANDBOX_CPUS": "1.5", "INPUT_MODEL": "", "INPUT_BASE-BRANCH": "  ",
               "HOME": "/root", "INPUT_GITHUB-TOKEN": "t"}
    assert read_inputs(environ) == {"max-turns": "12", "sandbox-cpus": "1.5", "github-token": "t"}


def test_the_hyphenated_spelling_wins_when_both_are_set():
    assert read_inputs({"INPUT_MAX_TURNS": "5", "INPUT_MAX-TURNS": "7"}) == {"max-turns": "7"}


def test_unknown_inputs_are_reported_for_a_warning_and_ignored_by_load():
    inputs = read_inputs({"INPUT_MAX-TURNS": "3", "INPUT_MAX-TURN": "4", "INPUT_COLOUR": "red"})
    assert unknown_inputs(inputs) == ["colour", "max-turn"]
    assert load(inputs).max_turns == 3


def test_inputs_are_typed():
    settings = load({"max-turns": "12", "timeout-minutes": "2.5", "max-cost-usd": "0.75", "sandbox-pids": "64"})
    assert (settings.max_turns, settings.timeout_minutes, settings.max_cost_usd, settings.sandbox_pids) == (12, 2.5, 0.75, 64)


@pytest.mark.parametrize("text", ["Read,Edit,Bash", "Read Edit Bash", "Read, Edit, Bash,", "Read\nEdit\nBash\n"])
def test_allowed_tools_accept_commas_spaces_and_new_lines(text):
    assert load({"allowed-tools": text}).allowed_tools == ("Read", "Edit", "Bash")


def test_allowed_tools_cannot_be_empty():
    assert config_error({"allowed-tools": " , "}) == "input `allowed-tools`: must not be empty, got []"


@pytest.mark.parametrize("memory, expected", [("4g", 4 * 1024**3), ("512m", 512 * 1024**2), ("1.5GB", 1536 * 1024**2),
                                              ("8388608", 8 * 1024**2)])
def test_memory_uses_dockers_format(memory, expected):
    assert load({"sandbox-memory": memory}).sandbox_memory == memory
    assert memory_bytes(memory) == expected


def test_secrets_lists_the_values_to_mask():
    assert load().secrets() == ["ghs_workflowtoken", "sk-ant-key"]
    assert load({"openai-api-key": "sk-openai-1"}).secrets() == ["ghs_workflowtoken", "sk-ant-key", "sk-openai-1"]


def test_settings_are_frozen_and_refuse_unknown_fields():
    with pytest.raises(ValidationError):
        load().max_turns = 3
    with pytest.raises(ValidationError):
        Settings(github_token="t", anthropic_api_key="k", colour="red")


# --- one clear line per problem --------------------------------------------------------

@pytest.mark.parametrize("inputs, message", [
    ({"max-turns": "ten"}, "input `max-turns`: must be a positive integer, got 'ten'"),
    ({"max-turns": "0"}, "input `max-turns`: must be a positive integer, got '0'"),
    ({"max-cost-usd": "-1"}, "input `max-cost-usd`: must be a positive number, got '-1'"),
    ({"timeout-minutes": "inf"}, "input `timeout-minutes`: must be a positive number, got 'inf'"),
    ({"sandbox-memory": "lots"}, "input `sandbox-memory`: must be a size like `512m` or `4g` (units b, k, m, g), got 'lots'"),
    ({"sandbox-memory": "1m"}, "input `sandbox-memory`: must be at least `6m` (Docker's minimum), got '1m'"),
    ({"trigger-phrase": "/code please"}, "input `trigger-phrase`: must be one word without spaces, like `/code`, got '/code please'"),
    ({"branch-prefix": "bad..prefix/"}, "input `branch-prefix`: is not usable in a git branch name (no spaces, `..`, `~^:?*[\\`), got 'bad..prefix/'"),
    ({"allowed-tools": "Read Bash(git*)"}, "input `allowed-tools`: `Bash(git*)` is not a tool name (use names like `Read Edit Bash`), got 'Read Bash(git*)'"),
    ({"anthropic-base-url": "gateway:8080"}, "input `anthropic-base-url`: must be an http:// or https:// URL, or empty for Anthropic's API, got 'gateway:8080'"),
])
def test_an_invalid_input_is_one_line_naming_the_input_and_the_value(inputs, message):
    assert config_error(inputs) == message


def test_every_invalid_input_gets_its_own_line():
    assert config_error({"max-turns": "ten", "sandbox-cpus": "many"}).splitlines() == [
        "input `max-turns`: must be a positive integer, got 'ten'",
        "input `sandbox-cpus`: must be a positive number, got 'many'",
    ]


def test_an_unknown_placeholder_in_the_prompt_template_is_caught_with_the_settings():
    message = config_error({"prompt-template": "Fix {issue} please"})
    assert message.startswith("input `prompt-template`: unknown placeholder {issue} in the prompt template;")
    assert "{issue_number}" in message


@pytest.mark.parametrize("agent, secret", [("claude", "anthropic-api-key"), ("codex", "openai-api-key"),
                                           ("gemini", "gemini-api-key")])
def test_the_chosen_agent_s_missing_secret_says_how_to_pass_it(agent, secret):
    with pytest.raises(ConfigError) as caught:
        load_settings({"github-token": "t", "agent": agent}, {}, {}.get)
    assert str(caught.value).startswith(f"input `{secret}`")
    assert f"required for `agent: {agent}`" in str(caught.value) and "Settings → Secrets" in str(caught.value)


def test_a_subscription_token_serves_claude_instead_of_an_api_key():
    settings = load_settings({"github-token": "t", "claude-code-oauth-token": "sk-ant-oat01-x"}, {}, {}.get)
    assert settings.agent_secret() == ("sk-ant-oat01-x", "claude-code-oauth-token")


def test_only_the_chosen_agent_s_secret_is_needed():
    settings = load_settings({"github-token": "t", "agent": "gemini", "gemini-api-key": "AIza-x"}, {}, {}.get)
    assert (settings.agent_model, settings.agent_secret()) == ("gemini-2.5-pro", ("AIza-x", "gemini-api-key"))


@pytest.mark.parametrize("inputs, message", [
    ({"allowed-domains": "https://pkg.example.com"}, "input `allowed-domains`: `https://pkg.example.com` is not a host "
     "name (use names like `pkg.example.com` or `*.example.com`, without a scheme or a port), got "
     "'https://pkg.example.com'"),
    ({"network": "everything"}, "input `network`: input should be 'none', 'registries' or 'open', got 'everything'"),
    ({"max-file-size": "huge"}, "input `max-file-size`: must be a size like `512m` or `4g` (units b, k, m, g), got "
     "'huge'"),
])
def test_new_inputs_say_what_is_wrong(inputs, message):
    assert config_error(inputs) == message


def test_setup_takes_one_command_per_line_and_domains_a_list():
    settings = load({"setup": "pip install -e .[test]\n\nnpm ci\n", "allowed-domains": "a.example.com, *.b.org"})
    assert settings.setup == ("pip install -e .[test]", "npm ci")
    assert settings.allowed_domains == ("a.example.com", "*.b.org")


# --- the repo config file ------------------------------------------------------------

def test_the_config_file_sets_the_same_fields_with_either_spelling_and_expands_variables():
    text = (FIXTURES / "config" / "codeagent.yml").read_text()
    settings = load(files=config(text), environ={"TOOLCHAIN_IMAGE": "ghcr.io/octo-org/toolchain:3"})
    assert (settings.model, settings.max_turns, settings.max_cost_usd) == ("opus", 12, 2.5)
    assert settings.allowed_tools == ("Read", "Edit", "Bash")
    assert settings.sandbox_image == "ghcr.io/octo-org/toolchain:3"
    assert settings.prompt_template.startswith("Fix issue #{issue_number} in {repository}: {title}\n")


def test_inputs_win_over_the_config_file_and_empty_inputs_do_not():
    settings = load({"max-turns": "4", "model": ""}, files=config("model: opus\nmax-turns: 12\n"))
    assert (settings.model, settings.max_turns) == ("opus", 4)


def test_the_config_file_path_is_an_input():
    assert load({"config-file": "ci/agent.yaml"}, files=config("model: haiku\n", "ci/agent.yaml")).model == "haiku"


def test_a_config_file_the_input_names_must_exist():
    assert config_error({"config-file": "ci/agent.yaml"}) == (
        "input `config-file`: `ci/agent.yaml` does not exist on the repository's default branch; fix the path or "
        "remove the input")


def test_an_empty_config_file_changes_nothing():
    assert load(files=config("# nothing yet\n")) == load()


@pytest.mark.parametrize("key", ["anthropic-base-url", "trigger-phrase", "openai-base-url", "config-file"])
def test_what_could_redirect_a_secret_or_the_trigger_is_an_input_only(key):
    assert config_error(files=config(f"{key}: x\n")) == (
        f"`.github/codeagent.yml` key `{key}`: `{key}` can only be set as an input of the action (in the workflow "
        "file, which an agent cannot change); move it to the step's `with:`")


@pytest.mark.parametrize("text, message", [
    ("max-turns: ten\n", "`.github/codeagent.yml` key `max-turns`: must be a positive integer, got 'ten'"),
    ("max_turns: -3\n", "`.github/codeagent.yml` key `max-turns`: must be a positive integer, got -3"),
    ("max-turn: 3\n", "`.github/codeagent.yml` key `max-turn`: unknown setting; did you mean `max-turns`?"),
    ("anthropic-api-key: sk-ant-oops\n", "`.github/codeagent.yml` key `anthropic-api-key`: secrets do not belong in the "
     "repository; remove the key and pass the secret as the action's `anthropic-api-key` input"),
    ("github_token: x\n", "`.github/codeagent.yml` key `github_token`: secrets do not belong in the repository; "
     "remove the key and pass the secret as the action's `github-token` input"),
    ("max-turns: 3\nmax_turns: 4\n", "`.github/codeagent.yml` key `max_turns`: set twice (as `max-turns` and "
     "`max_turns`); keep one"),
    ("- model\n", "`.github/codeagent.yml` must be a mapping of settings like `max-turns: 20`; fix the file on the "
     "default branch"),
    ("model: ${MODEL_NAME}\n", "`.github/codeagent.yml` key `model`: environment variable `MODEL_NAME` is not set; "
     "set it in the workflow's `env:` or remove the reference"),
    ("prompt-template: ${GITHUB_TOKEN}\n", "`.github/codeagent.yml` key `prompt-template`: `${GITHUB_TOKEN}` looks "
     "like a secret and config values can reach the model's prompt; pass secrets as action inputs instead"),
])
def test_a_config_file_problem_is_one_line_naming_the_file_and_key(text, message):
    assert config_error(files=config(text), environ={"GITHUB_TOKEN": "ghs_x"}) == message


def test_invalid_yaml_says_where():
    message = config_error(files=config("model: [opus\n"))
    assert message.startswith("`.github/codeagent.yml` is not valid YAML:")
    assert "line" in message and "\n" not in message
