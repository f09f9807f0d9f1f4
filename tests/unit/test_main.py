"""The entry point on runs that end before the agent: exit code, outputs, step summary, log, comments."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from codeagent.main import main
from bench.github.emulator import GitHubEmulator
from bench.runner import read_outputs
from tests.unit.golden import FIXTURES

REPO = "octo-org/textstats"
BOT_TOKEN = "ghs_workflowtoken"


@pytest.fixture(autouse=True)
def keep_sigterm():
    """main() installs its SIGTERM handler; the test process gets its own back."""
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


def payload(name: str) -> dict:
    return json.loads((FIXTURES / "events" / f"{name}.json").read_text())


class Runner:
    """The environment and files the runner gives a step, in a tmp directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.output, self.summary = root / "output", root / "summary"
        self.output.touch()
        self.summary.touch()
        self.workspace = root / "workspace"
        self.workspace.mkdir()
        self.environ = {
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": str(root / "event.json"),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "42",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": "http://127.0.0.1:9/api/v3",  # nothing listens: no test reaches GitHub by accident
            "INPUT_GITHUB-TOKEN": BOT_TOKEN,
            "INPUT_ANTHROPIC-API-KEY": "sk-ant-test",
            "INPUT_MAX-TURNS": "30",
        }

    def event(self, data: dict | str) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        Path(self.environ["GITHUB_EVENT_PATH"]).write_text(text)

    def comment(self, body: str, **user) -> None:
        event = payload("issue_comment.created")
        event["comment"]["body"] = body
        event["comment"]["user"].update(user)
        self.event(event)

    def outputs(self) -> dict[str, str]:
        return read_outputs(self.output)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


# -- not for us --

@pytest.mark.parametrize("event, reason", [
    ("codex", "does not start with `/code`"),
    ("issue_comment.created.bot", "bot `github-actions[bot]`"),
    ("issue_comment.edited", "edited"),
])
def test_a_comment_not_for_us_ends_quietly_as_skipped(runner, capsys, event, reason):
    if event == "codex":
        runner.comment("/codex review this")
    else:
        runner.event(payload(event))

    assert main(runner.environ) == 0

    assert runner.outputs() == {"result": "skipped"}
    said = [line for line in lines(capsys) if line.startswith("Nothing to do")]
    assert len(said) == 1 and reason in said[0]
    assert runner.summary.read_text() == ""


# -- invalid inputs and events --

def test_an_invalid_input_fails_with_an_annotation_that_says_what_to_fix(runner, github, capsys):
    trigger = comment_by(runner, github, "octo-owner", "/code")
    runner.environ["INPUT_MAX-TURNS"] = "ten"

    assert main(runner.environ) == 1

    # Also said on the issue, where the one who asked looks.
    (reply,) = [c for c in github.comments(REPO) if c["id"] != trigger["id"]]
    assert "Invalid configuration" in reply["body"] and "got 'ten'" in reply["body"]
    assert github.pulls(REPO) == [] and [b["name"] for b in github.branches(REPO)] == ["main"]

    errors = [line for line in lines(capsys) if line.startswith("::error")]
    assert len(errors) == 1
    assert "input `max-turns`: must be a positive integer, got 'ten'" in errors[0]
    assert runner.outputs() == {"result": "failure"}
    summary = runner.summary.read_text()
    assert summary.startswith("## ❌ codeagent: Invalid configuration")
    assert "input `max-turns`: must be a positive integer, got 'ten'" in summary


def test_the_secrets_are_masked_before_anything_else_is_logged(runner, capsys):
    runner.comment("/codex")

    main(runner.environ)

    out = lines(capsys)
    assert f"::add-mask::{BOT_TOKEN}" in out and "::add-mask::sk-ant-test" in out


def test_without_an_event_file_it_says_where_it_must_run(runner, capsys):
    del runner.environ["GITHUB_EVENT_PATH"]

    assert main(runner.environ) == 1

    (error,) = [line for line in lines(capsys) if line.startswith("::error")]
    assert "GITHUB_EVENT_PATH is not set" in error and "GitHub Actions workflow" in error
    assert runner.outputs() == {"result": "failure"}
    assert "GITHUB_EVENT_PATH is not set" in runner.summary.read_text()


@pytest.mark.parametrize("text, expected", [
    ("{not json", "cannot read the event payload"),
    ("[1, 2]", "is not a JSON object"),
])
def test_a_malformed_event_file_fails_clearly(runner, capsys, text, expected):
    runner.event(text)

    assert main(runner.environ) == 1

    (error,) = [line for line in lines(capsys) if line.startswith("::error")]
    assert expected in error and runner.environ["GITHUB_EVENT_PATH"] in error
    assert runner.outputs() == {"result": "failure"}


def test_an_event_missing_what_github_always_sends_names_the_field(runner, capsys):
    event = payload("issue_comment.created")
    del event["issue"]["number"]
    runner.event(event)

    assert main(runner.environ) == 1

    (error,) = [line for line in lines(capsys) if line.startswith("::error")]
    assert "issue.number" in error
    assert runner.outputs() == {"result": "failure"}


# -- unexpected exceptions are failures too, not bare tracebacks --

class BrokenEnvironment(dict):
    """An environment whose event path cannot be read: stands in for any bug in reading the configuration."""

    def get(self, key, default=None):
        if key == "GITHUB_EVENT_PATH":
            raise RuntimeError("the disk is on fire")
        return super().get(key, default)


def test_an_unexpected_exception_while_reading_the_configuration_is_reported(runner, capsys):
    runner.comment("/code")

    assert main(BrokenEnvironment(runner.environ)) == 1

    out = lines(capsys)
    (error,) = [line for line in out if line.startswith("::error")]
    assert "Unexpected error" in error and "RuntimeError: the disk is on fire" in error
    assert "::group::Traceback of the unexpected error" in out
    assert any("Traceback (most recent call last)" in line for line in out)
    assert runner.outputs() == {"result": "failure"}
    assert "RuntimeError: the disk is on fire" in runner.summary.read_text()


# -- against the GitHub emulator --

@pytest.fixture
def github(tmp_path: Path, monkeypatch):
    """The emulator with the repository of the fixtures' events, issue #7 and the bot's token."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # git's global config (safe.directory) is this test's
    (tmp_path / "home").mkdir()
    files = tmp_path / "files"
    files.mkdir()
    (files / "README.md").write_text("# textstats\n")
    with GitHubEmulator(tmp_path / "github") as emulator:
        emulator.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
        emulator.create_repo(REPO, files)
        emulator.set_permission(REPO, "octo-owner", "admin")
        emulator.create_issue(REPO, "Add a word_count helper", "Please add `word_count`.", "octo-owner", number=7)
        yield emulator
        assert emulator.server_errors == []


def comment_by(runner: Runner, github: GitHubEmulator, login: str, body: str) -> dict:
    """``login`` comments ``body`` on #7 in the emulator; the event says so."""
    comment = github.add_issue_comment(REPO, 7, login, body)
    event = payload("issue_comment.created")
    event["comment"] = comment
    event["sender"] = comment["user"]
    runner.event(event)
    runner.environ["GITHUB_API_URL"] = github.api_url
    runner.environ["GITHUB_SERVER_URL"] = github.server_url
    return comment


def test_someone_without_write_access_is_told_so_on_the_issue(runner, github, capsys):
    github.set_permission(REPO, "reader", "read")
    subprocess.run(["git", "init", "--quiet", str(runner.workspace)], check=True)
    trigger = comment_by(runner, github, "reader", "/code please")

    assert main(runner.environ) == 0

    assert runner.outputs()["result"] == "skipped"
    replies = [c for c in github.comments(REPO) if c["id"] != trigger["id"]]
    assert len(replies) == 1 and replies[0]["author"] == "github-actions[bot]"
    assert "Sorry @reader, only people with write access" in replies[0]["body"]
    assert github.reactions(REPO) == [] and github.pulls(REPO) == []
    assert "## codeagent: skipped" in runner.summary.read_text()


def test_an_unexpected_exception_during_the_run_is_reported_on_the_issue(runner, github, capsys):
    comment_by(runner, github, "octo-owner", "/code")
    runner.environ["GITHUB_WORKSPACE"] = str(runner.root / "no-checkout-here")

    assert main(runner.environ) == 1

    out = lines(capsys)
    (error,) = [line for line in out if line.startswith("::error")]
    assert "Unexpected error" in error and "FileNotFoundError" in error
    assert "::group::Traceback of the unexpected error" in out
    assert runner.outputs()["result"] == "failure"
    (reply,) = [c for c in github.comments(REPO) if c["author"] == "github-actions[bot]"]
    assert reply["body"].startswith("❌ **codeagent: Unexpected error**")
    assert f"{github.server_url}/octo-org/textstats/actions/runs/42" in reply["body"]
