"""A project's `.devcontainer/devcontainer.json` (the format Codespaces and VS Code use), read as data.

Only what a sandbox can honour is kept: the image (`image`, or `build` with its Dockerfile,
context, args and target), the environment (`containerEnv`, `remoteEnv`) and the commands
that set a fresh container up (`onCreateCommand`, `updateContentCommand`, `postCreateCommand`,
in that order). What needs the devcontainer CLI or the host (`features`, `initializeCommand`,
`dockerComposeFile`) is left out, and `notes` say so. The file is JSON with comments
(https://containers.dev/implementors/json_reference/).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from codeagent.errors import ConfigError

PATHS = (".devcontainer/devcontainer.json", ".devcontainer.json")
"""Where the definition may be, in the order they are looked for."""
SETUP_KEYS = ("onCreateCommand", "updateContentCommand", "postCreateCommand")
DOCKER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH Docker gives a container whose image sets none (an imported rootfs)."""
_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]|\\.)*")|,(?=\s*[}\]])')
_VARIABLE = re.compile(r"\$\{(localEnv|containerEnv|localWorkspaceFolder|containerWorkspaceFolder)"
                       r"(?::([A-Za-z_][A-Za-z0-9_]*))?(?::([^}]*))?\}")


@dataclass(frozen=True)
class Build:
    """`build`: the Dockerfile and its context, as paths from the repository's root."""

    dockerfile: str
    context: str
    args: dict[str, str] = field(default_factory=dict)
    target: str = ""


@dataclass(frozen=True)
class Devcontainer:
    path: str
    """Where the definition was found, from the repository's root."""
    image: str = ""
    build: Build | None = None
    env: dict[str, str] = field(default_factory=dict)
    """`containerEnv` with `remoteEnv` over it; `${containerEnv:VAR}` still to be expanded."""
    setup: tuple[str, ...] = ()
    """Shell commands, in the order the lifecycle runs them."""
    notes: tuple[str, ...] = ()


def parse(text: str, path: str) -> Devcontainer:
    """The definition in ``text`` (found at ``path``); a `ConfigError` says what is wrong with it."""
    document = _load(text, path)
    folder = posixpath.dirname(path)
    build = _build(document, folder, path) if not document.get("image") else None
    if not document.get("image") and build is None:
        raise ConfigError(f"`{path}` names neither an `image` nor a `build.dockerfile`; add one of them, or "
                          "set the `sandbox-image` input (docker compose definitions are not supported)")
    env = {**_strings(document.get("containerEnv"), path, "containerEnv"),
           **_strings(document.get("remoteEnv"), path, "remoteEnv")}
    setup = tuple(command for key in SETUP_KEYS for command in _commands(document.get(key), path, key))
    return Devcontainer(path, str(document.get("image") or ""), build, env, setup, _notes(document, path))


def _load(text: str, path: str) -> dict[str, Any]:
    """JSON with comments and trailing commas."""
    plain = _TRAILING_COMMA.sub(_string_or_nothing, _COMMENT.sub(_string_or_nothing, text))
    try:
        document = json.loads(plain)
    except ValueError as error:
        raise ConfigError(f"`{path}` is not valid JSON (with comments): {error}. Fix it on the default branch, "
                          "or set the `sandbox-image` input") from None
    if not isinstance(document, dict):
        raise ConfigError(f"`{path}` must be a JSON object. Fix it on the default branch, "
                          "or set the `sandbox-image` input")
    return document


def _string_or_nothing(match: re.Match) -> str:
    return match.group(1) or ""


def _build(document: dict[str, Any], folder: str, path: str) -> Build | None:
    build: dict[str, Any] = document["build"] if isinstance(document.get("build"), dict) else {}
    dockerfile = build.get("dockerfile") or document.get("dockerFile")
    if not dockerfile:
        return None
    context = _inside(posixpath.join(folder, str(build.get("context") or document.get("context") or ".")), path)
    return Build(_inside(posixpath.join(folder, str(dockerfile)), path), context,
                 _strings(build.get("args"), path, "build.args"), str(build.get("target") or ""))


def _inside(relative: str, path: str) -> str:
    """A path from the repository's root, which it may not leave."""
    normal = posixpath.normpath(relative)
    if normal.startswith("../") or normal == ".." or posixpath.isabs(normal):
        raise ConfigError(f"`{path}`: `{relative}` is outside the repository, and the image is built from the "
                          "repository's default branch only. Fix `build.dockerfile` and `build.context` to name paths "
                          "inside it (relative to devcontainer.json)")
    return "" if normal == "." else normal


def _strings(value: Any, path: str, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"`{path}`: `{key}` must be an object of names and values. Fix it on the default branch, "
                          "or set the `sandbox-image` input")
    return {str(name): "" if item is None else str(item) for name, item in value.items()}


def _commands(value: Any, path: str, key: str) -> list[str]:
    """A lifecycle command as shell commands: a string (run by a shell), a list (one command, no
    shell), or an object whose values are either (each run, here one after the other)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return [shlex.join(value)]
    if isinstance(value, dict):
        return [command for part in value.values() for command in _commands(part, path, key)]
    raise ConfigError(f"`{path}`: `{key}` must be a command string, a list of arguments or an object of them. "
                      "Fix it on the default branch, or set the `sandbox-image` input")


def _notes(document: dict[str, Any], path: str) -> tuple[str, ...]:
    notes = []
    features = document.get("features")
    if isinstance(features, dict) and features:
        names = ", ".join(f"`{name}`" for name in features)
        notes.append(f"`{path}`: features are skipped (they need the devcontainer CLI): {names}. Install what "
                     "they provide in the image, or with `postCreateCommand` or `setup`.")
    if document.get("initializeCommand"):
        notes.append(f"`{path}`: `initializeCommand` is skipped (it would run on the runner, outside the sandbox).")
    return tuple(notes)


def expand(env: dict[str, str], image_env: dict[str, str], workspace: str) -> tuple[dict[str, str], list[str]]:
    """``env`` with `${containerEnv:VAR}` (the image's), `${containerWorkspaceFolder}` and
    `${localWorkspaceFolder}` expanded; `${localEnv:VAR}` is never the runner's environment (it holds
    the action's secrets): it becomes its default, or empty. The names it emptied come second."""
    emptied: list[str] = []

    def value(match: re.Match) -> str:
        kind, name, default = match.group(1), match.group(2) or "", match.group(3) or ""
        if kind.endswith("WorkspaceFolder"):
            return workspace
        if kind == "containerEnv":
            return image_env.get(name, DOCKER_PATH if name == "PATH" and not default else default)
        if not default:
            emptied.append(name)
        return default

    return {name: _VARIABLE.sub(value, text) for name, text in env.items()}, emptied
