"""devcontainer.json read as the sandbox needs it: JSON with comments, image or build, env, setup, notes."""

import pytest

from codeagent.errors import ConfigError
from codeagent.sandbox.devcontainer import DOCKER_PATH, Build, expand, parse

PATH = ".devcontainer/devcontainer.json"

CODESPACES_STYLE = """{
  // Comments, "quoted" text and a , } in them change nothing.
  "name": "go // not a comment",
  "image": "mcr.microsoft.com/devcontainers/go:1-bookworm", /* a block
  comment */
  "features": {
    "ghcr.io/devcontainers/features/node:1": {"version": "22"},
    "ghcr.io/devcontainers/features/github-cli:1": {},
  },
  "containerEnv": {"GOFLAGS": "-mod=mod", "URL": "http://example.com/a,b"},
  "remoteEnv": {"GOFLAGS": "-mod=readonly"},
  "onCreateCommand": "echo first",
  "postCreateCommand": {"deps": "go mod download", "tools": ["go", "install", "golang.org/x/tools/cmd/stringer@v0.1"]},
}
"""


def test_a_codespaces_definition_with_comments_and_trailing_commas():
    definition = parse(CODESPACES_STYLE, PATH)
    assert definition.image == "mcr.microsoft.com/devcontainers/go:1-bookworm"
    assert definition.build is None
    assert definition.env == {"GOFLAGS": "-mod=readonly", "URL": "http://example.com/a,b"}
    assert definition.setup == ("echo first", "go mod download", "go install golang.org/x/tools/cmd/stringer@v0.1")


def test_features_are_skipped_with_a_note_naming_each():
    [note] = parse(CODESPACES_STYLE, PATH).notes
    assert "features are skipped" in note
    assert "`ghcr.io/devcontainers/features/node:1`" in note and "`ghcr.io/devcontainers/features/github-cli:1`" in note


@pytest.mark.parametrize(("command", "setup"), [
    ("npm ci", ("npm ci",)),
    (["sh", "-c", "echo $HOME > out.txt"], ("sh -c 'echo $HOME > out.txt'",)),
    ({"a": "make", "b": ["pip", "install", "-e", ".[test]"]}, ("make", "pip install -e '.[test]'")),
    ("", ()),
])
def test_post_create_command_in_each_form(command, setup):
    import json

    assert parse(json.dumps({"image": "x", "postCreateCommand": command}), PATH).setup == setup


def test_build_paths_are_relative_to_the_definition_and_stay_in_the_repository():
    text = '{"build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": 1}, "target": "dev"}}'
    assert parse(text, PATH).build == Build(".devcontainer/Dockerfile", "", {"V": "1"}, "dev")
    assert parse('{"build": {"dockerfile": "Dockerfile"}}', PATH).build == Build(".devcontainer/Dockerfile",
                                                                                   ".devcontainer")
    assert parse('{"dockerFile": "d/Dockerfile"}', ".devcontainer.json").build == Build("d/Dockerfile", "")
    with pytest.raises(ConfigError, match="outside the repository"):
        parse('{"build": {"dockerfile": "Dockerfile", "context": "../.."}}', PATH)


@pytest.mark.parametrize(("text", "problem"), [
    ('{"name": "compose", "dockerComposeFile": "compose.yml"}', "names neither an `image` nor a `build.dockerfile`"),
    ("{'image': 'x'}", "is not valid JSON"),
    ('["image"]', "must be a JSON object"),
    ('{"image": "x", "containerEnv": ["A=1"]}', "`containerEnv` must be an object"),
    ('{"image": "x", "postCreateCommand": 3}', "`postCreateCommand` must be a command string"),
])
def test_a_definition_the_sandbox_cannot_use_is_a_config_error_naming_the_file(text, problem):
    with pytest.raises(ConfigError, match=problem) as error:
        parse(text, PATH)
    assert PATH in str(error.value)


def test_variables_expand_from_the_image_never_from_the_runner():
    env = {"PATH": "${containerEnv:PATH}:/opt/bin", "SRC": "${containerWorkspaceFolder}/src",
           "TOKEN": "${localEnv:GITHUB_TOKEN}", "MODE": "${localEnv:MODE:fast}", "GOPATH": "${containerEnv:GOPATH}"}
    expanded, emptied = expand(env, {"PATH": "/usr/bin"}, "/github/workspace")
    assert expanded == {"PATH": "/usr/bin:/opt/bin", "SRC": "/github/workspace/src", "TOKEN": "", "MODE": "fast",
                        "GOPATH": ""}
    assert emptied == ["GITHUB_TOKEN"]


def test_an_image_without_a_path_gets_docker_s_default_in_its_place():
    expanded, _ = expand({"PATH": "${containerEnv:PATH}:/opt/bin"}, {}, "/w")
    assert expanded["PATH"] == f"{DOCKER_PATH}:/opt/bin"
