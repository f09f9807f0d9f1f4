"""Which image the sandbox runs: `sandbox-image`, the project's devcontainer, or the action's own.

The action's own image carries a toolchain most projects build and test with (Python,
Node.js, a C compiler, git, ripgrep, jq); a project with other needs names an image, or
brings a `.devcontainer/devcontainer.json`. The definition, its Dockerfile and its build
context come from the repository's default branch, never from a pull request's head or the
checkout: building runs the Dockerfile's RUN steps through the runner's engine, with its
network, so only what a maintainer merged may do that.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Protocol

from codeagent.errors import ConfigError, GitError
from codeagent.log import Log
from codeagent.sandbox import devcontainer
from codeagent.sandbox.devcontainer import Build, Devcontainer
from codeagent.sandbox.engine import Engine
from codeagent.sandbox.workbench import SandboxImage
from codeagent.settings import Settings

BUILT_REPOSITORY = "codeagent-devcontainer"
"""Images built from a devcontainer are tagged ``codeagent-devcontainer:<digest of what built them>``,
so an unchanged definition is built once per engine."""
DOCKERFILE = ".codeagent-devcontainer.Dockerfile"
"""The Dockerfile's name in the build context sent to the engine (it may live outside the context)."""


class DefaultBranch(Protocol):
    """The repository's files as its default branch has them (`branches.Branches`)."""

    def default_branch_file(self, path: str) -> str | None: ...

    def default_branch_archive(self, directory: str, out: Path) -> None: ...


def choose_image(engine: Engine, settings: Settings, source: DefaultBranch, workspace: str,
                 log: Log) -> SandboxImage:
    """The image for this run's sandbox, pulled or built when needed."""
    if settings.sandbox_image:
        engine.ensure_image(settings.sandbox_image)
        log.info(f"sandbox image: {settings.sandbox_image} (`sandbox-image`)")
        return SandboxImage(settings.sandbox_image)
    definition = find_devcontainer(source)
    if definition is None:
        image = engine.toolchain_image  # a released action's sandbox image, once its background pull is done
        log.info(f"sandbox image: {image} (the action's toolchain: Python, Node.js, build tools)")
        return SandboxImage(image)
    return devcontainer_image(engine, definition, source, workspace, log)


def find_devcontainer(source: DefaultBranch) -> Devcontainer | None:
    """The default branch's devcontainer definition, or None when it has none."""
    for path in devcontainer.PATHS:
        text = source.default_branch_file(path)
        if text is not None:
            return devcontainer.parse(text, path)
    return None


def devcontainer_image(engine: Engine, definition: Devcontainer, source: DefaultBranch, workspace: str,
                       log: Log) -> SandboxImage:
    """The devcontainer's image (pulled, or built from the default branch), its environment and setup."""
    if definition.image:
        engine.ensure_image(definition.image)
        name = definition.image
        log.info(f"sandbox image: {name} (`{definition.path}`)")
    else:
        assert definition.build is not None
        name = build_image(engine, definition.build, source, log)
        log.info(f"sandbox image: {name}, built from `{definition.build.dockerfile}` (`{definition.path}`)")
    env, emptied = devcontainer.expand(definition.env, engine.image_env(name), workspace)
    notes = list(definition.notes)
    if emptied:
        notes.append(f"`{definition.path}`: `${{localEnv:…}}` is not taken from the runner, whose environment holds "
                     f"the action's secrets; left empty: {', '.join(f'`{name}`' for name in emptied)}.")
    for note in notes:
        log.warning(note)
    return SandboxImage(name, env, definition.setup, tuple(notes))


def build_image(engine: Engine, build: Build, source: DefaultBranch, log: Log) -> str:
    """Build the devcontainer's Dockerfile with its context from the default branch; the image's tag."""
    dockerfile = source.default_branch_file(build.dockerfile)
    if dockerfile is None:
        raise ConfigError(f"the devcontainer's Dockerfile `{build.dockerfile}` is not on the repository's default "
                          "branch; fix `build.dockerfile` (it is relative to devcontainer.json)")
    with tempfile.TemporaryDirectory(prefix="codeagent-build-") as scratch:
        context = Path(scratch) / "context.tar"
        try:
            source.default_branch_archive(build.context, context)
        except GitError:
            raise ConfigError(f"the devcontainer's build context `{build.context or '.'}` is not a directory on "
                              "the repository's default branch; fix `build.context`") from None
        _add_file(context, DOCKERFILE, dockerfile)
        tag = f"{BUILT_REPOSITORY}:{_digest(context, build)}"
        if engine.has_image(tag):
            log.info(f"{tag} is already built from this definition")
            return tag
        engine.build(context, DOCKERFILE, tag, build.args, build.target, log.info)
    return tag


def _add_file(archive: Path, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    with tarfile.open(archive, "a") as tar:
        tar.addfile(info, io.BytesIO(data))


def _digest(archive: Path, build: Build) -> str:
    """What the image is built from: each file's name, mode and content, the args and the target."""
    digest = hashlib.sha256(json.dumps([build.args, build.target], sort_keys=True).encode())
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda member: member.name):
            digest.update(f"{member.name}\0{member.mode}\0{member.type!r}\0{member.linkname}\0".encode())
            content = tar.extractfile(member) if member.isfile() else None
            if content is not None:
                digest.update(content.read())
    return digest.hexdigest()[:20]
