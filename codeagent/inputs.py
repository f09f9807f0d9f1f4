"""Where the settings come from: the action's inputs and the default branch's config file,
merged and validated by `settings.Settings`; what is wrong with them, in words that say what to fix.

The config file is read from the repository's default branch (``read_file``), never from the
checkout or a pull request's head, which an agent can write; the keys only an input may set
(`settings.INPUT_ONLY`) are refused in it.
"""

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic import NonNegativeInt, PositiveInt, ValidationError

from codeagent.errors import ConfigError
from codeagent.settings import INPUT_ONLY, SECRET_FIELDS, Settings, field_name, input_name
from codeagent.text import one_line

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


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


def load_settings(inputs: Mapping[str, str], environ: Mapping[str, str],
                  read_file: Callable[[str], str | None]) -> Settings:
    """Validate the inputs merged over the repo config file; one `ConfigError` line per problem.

    ``read_file(path)`` gives the config file's text as the default branch has it (None when
    there is none). Unknown inputs are ignored here (warn with `unknown_inputs`).
    """
    given = {field_name(name): value for name, value in inputs.items() if value.strip()}
    given = {name: value for name, value in given.items() if name in Settings.model_fields}
    config_path = given.get("config_file", Settings.model_fields["config_file"].default)
    from_file = read_config_file(read_file(config_path), config_path, environ, explicit="config_file" in given)
    sources = {name: f"`{config_path}` key `{input_name(name)}`" for name in from_file}
    sources.update({name: f"input `{input_name(name)}`" for name in given})
    try:
        return Settings.model_validate({**from_file, **given})
    except ValidationError as error:
        lines = [_describe(problem, sources) for problem in error.errors()]
        raise ConfigError("\n".join(lines)) from None


def read_config_file(text: str | None, relative: str, environ: Mapping[str, str], explicit: bool) -> dict[str, Any]:
    """The repo config file's settings by field name, `${VAR}` expanded; {} if there is no file.

    A missing file is only an error when the `config-file` input named it."""
    if text is None:
        if explicit:
            raise ConfigError(f"input `config-file`: `{relative}` does not exist on the repository's default "
                              "branch; fix the path or remove the input")
        return {}
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"`{relative}` is not valid YAML: {one_line(str(error))}; fix the file on the default "
                          "branch") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"`{relative}` must be a mapping of settings like `max-turns: 20`; fix the file on the "
                          "default branch")
    return _config_values(document, relative, environ)


def _config_values(document: dict, relative: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """Check the file's keys and expand `${VAR}` in its values."""
    values: dict[str, Any] = {}
    for key, value in document.items():
        name = field_name(str(key))
        where = f"`{relative}` key `{key}`"
        if name in SECRET_FIELDS:
            raise ConfigError(f"{where}: secrets do not belong in the repository; remove the key and pass the "
                              f"secret as the action's `{input_name(name)}` input")
        if name in INPUT_ONLY:
            raise ConfigError(f"{where}: `{input_name(name)}` can only be set as an input of the action (in the "
                              f"workflow file, which an agent cannot change); move it to the step's `with:`")
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
    if not problem["loc"]:  # a check of the whole (the agent's secret): its message says it all
        return str(problem.get("ctx", {}).get("error") or problem["msg"])
    name = str(problem["loc"][0])
    where = sources.get(name, f"input `{input_name(name)}`")
    kind = problem["type"]
    if kind == "missing":
        return f"{where}: required; {_MISSING_HINTS.get(name, 'set it in the workflow')}"
    if kind == "extra_forbidden":
        return f"{where}: unknown setting{_suggestion(name)}"
    got = "" if name in SECRET_FIELDS else f", got {one_line(repr(problem['input']), 60)}"
    return f"{where}: {_reason(name, problem)}{got}"


def _reason(name: str, problem: Mapping[str, Any]) -> str:
    """What a value should have been, in words."""
    kind = problem["type"]
    if kind == "value_error":
        return str(problem["ctx"]["error"])
    if kind in _NUMBER_ERRORS:
        whole = Settings.model_fields[name].annotation in (int, PositiveInt, NonNegativeInt)
        return "must be a positive integer" if whole else "must be a positive number"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("list_type", "tuple_type"):
        return "must be a list of names or a comma/space separated string"
    if kind == "string_type":
        return "must be text"
    return one_line(problem["msg"]).lower()


def _suggestion(name: str) -> str:
    """"; did you mean `max-turns`?" for a near miss, and the list of settings otherwise."""
    known = [input_name(field) for field in Settings.model_fields if field not in INPUT_ONLY]
    close = difflib.get_close_matches(input_name(name), known, n=1)
    return f"; did you mean `{close[0]}`?" if close else f"; known settings: {', '.join(known)}"


_NUMBER_ERRORS = {"int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
                  "greater_than", "finite_number"}
_MISSING_HINTS = {
    "github_token": "pass `github-token: ${{ github.token }}` (the default when the input is left out)",
}
