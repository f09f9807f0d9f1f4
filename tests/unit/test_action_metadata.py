"""action.yml and Settings describe the same inputs, with the same defaults."""

from pathlib import Path

import pytest
import yaml
from pydantic.fields import FieldInfo

from codeagent.settings import Settings, input_name

ACTION = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())
INPUTS = ACTION["inputs"]
OUTPUTS = {"result", "pr-number", "pr-url", "branch", "cost-usd", "turns", "session-id", "transcript-path",
           "verify-result"}


def stated_default(field: FieldInfo) -> str:
    """How a description states the default `field` has."""
    default = field.default
    if default is None:
        return "none"
    if default in ("", ()):
        return "empty"
    if isinstance(default, tuple):
        return f"`{' '.join(default)}`"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"


def description(name: str) -> str:
    return " ".join(INPUTS[name]["description"].split())


def test_every_input_is_a_setting_and_every_setting_an_input():
    assert set(INPUTS) == {input_name(field) for field in Settings.model_fields}


@pytest.mark.parametrize("field", [name for name, info in Settings.model_fields.items() if not info.is_required()])
def test_each_description_states_the_default_settings_has(field):
    assert f"Default: {stated_default(Settings.model_fields[field])}" in description(input_name(field))


def test_only_github_token_has_a_default_so_an_empty_input_means_not_given():
    assert {name: spec["default"] for name, spec in INPUTS.items() if "default" in spec} == {
        "github-token": "${{ github.token }}"}
    assert "Default: `${{ github.token }}`." in description("github-token")


def test_no_secret_is_required_by_action_yml_only_the_chosen_agents_by_settings():
    """A workflow gives the one secret its agent needs; a missing one is a fix-it error before any branch."""
    from codeagent.settings import AGENT_SECRETS

    for agent, secrets in AGENT_SECRETS.items():
        for secret in secrets:
            assert INPUTS[input_name(secret)]["required"] is False
            assert f"`agent: {agent}`" in description(input_name(secret))



def test_every_placeholder_of_the_prompt_template_is_documented():
    from codeagent.prompt import PLACEHOLDERS

    for placeholder in PLACEHOLDERS:
        assert f"`{{{placeholder}}}`" in description("prompt-template")


def test_outputs_are_listed_with_descriptions():
    assert set(ACTION["outputs"]) == OUTPUTS
    assert all(spec["description"] for spec in ACTION["outputs"].values())


def test_it_runs_as_a_docker_action_built_from_the_dockerfile():
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert set(ACTION["branding"]) == {"icon", "color"}


def test_every_setting_has_a_description():
    """Each field of `Settings` is followed by its docstring (read from the source: the action does not
    have pydantic parse it at every start)."""
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(Settings))).body[0].body  # type: ignore[attr-defined]
    described = {statement.target.id for statement, following in zip(body, body[1:])
                 if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                 and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                 and isinstance(following.value.value, str) and following.value.value.strip()}
    assert set(Settings.model_fields) <= described, set(Settings.model_fields) - described
