"""Which image the sandbox runs, and from which files: only the default branch's."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from codeagent.errors import ConfigError, GitError
from codeagent.log import Log
from codeagent.sandbox.images import BUILT_REPOSITORY, DOCKERFILE, choose_image
from codeagent.settings import Settings


class FakeEngine:
    own_image = "sha256:action"
    toolchain_image = own_image  # no released sandbox image: the action's own has the toolchain

    def __init__(self, images: dict[str, dict[str, str]] | None = None) -> None:
        self.images = dict(images or {})
        self.builds: list[dict] = []
        self.pulled: list[str] = []

    def has_image(self, image: str) -> bool:
        return image in self.images

    def ensure_image(self, image: str) -> None:
        self.pulled.append(image)

    def image_env(self, image: str) -> dict[str, str]:
        return self.images.get(image, {})

    def build(self, context: Path, dockerfile: str, tag: str, args: dict, target: str, on_line) -> None:
        with tarfile.open(context) as tar:
            files = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
        self.builds.append({"files": files, "dockerfile": dockerfile, "tag": tag, "args": args, "target": target})
        self.images[tag] = {"PATH": "/usr/bin"}


class DefaultBranch:
    """The default branch's files; the checkout's are never asked for."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.archived: list[str] = []

    def default_branch_file(self, path: str) -> str | None:
        return self.files.get(path)

    def default_branch_archive(self, directory: str, out: Path) -> None:
        self.archived.append(directory)
        prefix = f"{directory}/" if directory else ""
        if directory and not any(path.startswith(prefix) for path in self.files):
            raise GitError(f"fatal: not a tree object: {directory}")
        with tarfile.open(out, "w") as tar:
            for path, text in self.files.items():
                if path.startswith(prefix):
                    info = tarfile.TarInfo(path[len(prefix):])
                    info.size = len(text.encode())
                    tar.addfile(info, io.BytesIO(text.encode()))


def settings(**values) -> Settings:
    return Settings(github_token="ghs_x", anthropic_api_key="sk-ant-x", **values)


def choose(engine, files: dict[str, str], **values):
    return choose_image(engine, settings(**values), DefaultBranch(files), "/github/workspace", Log(io.StringIO()))


BUILD = {
    ".devcontainer/devcontainer.json": '{"build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": "2"}},'
                                       ' "containerEnv": {"PATH": "${containerEnv:PATH}:/x"}}',
    ".devcontainer/Dockerfile": "FROM base\nCOPY tool /usr/bin/tool\n",
    "tool": "#!/bin/sh\n",
}


def test_without_a_devcontainer_the_action_s_own_image():
    assert choose(FakeEngine(), {"README.md": "hi"}).name == "sha256:action"


def test_sandbox_image_wins_over_a_devcontainer():
    engine = FakeEngine()
    image = choose(engine, {".devcontainer.json": '{"image": "node:22"}'}, sandbox_image="ruby:3")
    assert (image.name, engine.pulled) == ("ruby:3", ["ruby:3"])


def test_a_devcontainer_image_with_its_env_setup_and_notes():
    engine = FakeEngine({"go:1": {"PATH": "/usr/local/go/bin:/usr/bin"}})
    image = choose(engine, {".devcontainer/devcontainer.json": """{
        "image": "go:1", "features": {"ghcr.io/x/y:1": {}},
        "containerEnv": {"PATH": "${containerEnv:PATH}:/opt/bin", "SECRET": "${localEnv:ANTHROPIC_API_KEY}"},
        "postCreateCommand": "go mod download"}"""})
    assert (image.name, engine.pulled) == ("go:1", ["go:1"])
    assert image.env == {"PATH": "/usr/local/go/bin:/usr/bin:/opt/bin", "SECRET": ""}
    assert image.setup == ("go mod download",)
    assert "`ghcr.io/x/y:1`" in image.notes[0] and "`ANTHROPIC_API_KEY`" in image.notes[1]


def test_a_build_uses_the_default_branch_s_context_and_dockerfile_and_is_tagged_by_what_built_it():
    engine = FakeEngine()
    image = choose(engine, BUILD)
    [build] = engine.builds
    assert build["dockerfile"] == DOCKERFILE and build["files"][DOCKERFILE] == BUILD[".devcontainer/Dockerfile"]
    assert build["files"]["tool"] == "#!/bin/sh\n" and build["args"] == {"V": "2"}
    assert image.name == build["tag"] and image.name.startswith(f"{BUILT_REPOSITORY}:")
    assert image.env == {"PATH": "/usr/bin:/x"}


def test_an_unchanged_definition_is_built_once_and_a_changed_one_again():
    engine = FakeEngine()
    first, again = choose(engine, BUILD).name, choose(engine, BUILD).name
    assert first == again and len(engine.builds) == 1
    changed = choose(engine, {**BUILD, "tool": "#!/bin/sh\necho v2\n"}).name
    assert changed != first and len(engine.builds) == 2


@pytest.mark.parametrize(("files", "problem"), [
    ({".devcontainer/devcontainer.json": '{"build": {"dockerfile": "Missing"}}'}, "`.devcontainer/Missing` is not on"),
    ({".devcontainer/devcontainer.json": '{"build": {"dockerfile": "D", "context": "nowhere"}}',
      ".devcontainer/D": "FROM x\n"}, "build context `.devcontainer/nowhere` is not a directory"),
])
def test_a_build_that_cannot_start_says_what_to_fix(files, problem):
    with pytest.raises(ConfigError, match=problem):
        choose(FakeEngine(), files)
