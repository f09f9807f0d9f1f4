"""GitHubClient against the emulator's stricter GitHub: custom roles, starting workflows, a missing issue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe
from codeagent.errors import GitHubError
from codeagent.github_client import GitHubClient

REPO = "octo-org/textstats"
WITH_ACTIONS, WITHOUT_ACTIONS = "ghs_withactions", "ghs_withoutactions"
JOB = {"contents": "write", "issues": "write", "pull-requests": "write"}


@pytest.fixture
def emulator(tmp_path: Path):
    files = tmp_path / "files"
    (files / ".github" / "workflows").mkdir(parents=True)
    (files / ".github" / "workflows" / "ci.yml").write_text("name: CI\non: [push, workflow_dispatch]\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(WITH_ACTIONS, "github-actions[bot]", type="Bot", permissions={**JOB, "actions": "write"})
        github.add_token(WITHOUT_ACTIONS, "github-actions[bot]", type="Bot", permissions=JOB)
        github.create_repo(REPO, files)
        yield github
        assert github.server_errors == []
        assert not github.spec_violations, describe(github.spec_violations)


def client(github: GitHubEmulator, token: str = WITH_ACTIONS) -> GitHubClient:
    return GitHubClient(token, REPO, github.api_url, sleep=lambda s: None)


def test_a_custom_role_based_on_write_may_use_the_action_one_based_on_triage_may_not(emulator):
    emulator.add_custom_role("octo-org", "release-engineer", "write")
    emulator.add_custom_role("octo-org", "auditor", "triage")
    emulator.set_permission(REPO, "releaser", "release-engineer")
    emulator.set_permission(REPO, "checker", "auditor")
    assert client(emulator).can_write("releaser") is True
    assert client(emulator).can_write("checker") is False


def test_starting_a_workflow_links_its_runs_on_the_branch(emulator):
    url = client(emulator).dispatch_workflow("ci.yml", "main")
    assert url == f"{emulator.server_url}/{REPO}/actions/workflows/ci.yml?query=branch%3Amain"
    assert client(emulator).dispatch_workflow("CI", "main") == url  # by its name too
    assert [(d["workflow"], d["ref"]) for d in emulator.dispatches(REPO)] == [
        (".github/workflows/ci.yml", "main")] * 2


def test_without_actions_write_the_message_says_what_the_job_needs(emulator):
    with pytest.raises(GitHubError, match=r"403 Resource not accessible by integration\. Starting a workflow needs "
                                          r"`actions: write` in the job's `permissions:`"):
        client(emulator, WITHOUT_ACTIONS).dispatch_workflow("ci.yml", "main")
    with pytest.raises(GitHubError, match="no workflow named `lint.yml`"):
        client(emulator).dispatch_workflow("lint.yml", "main")
    assert emulator.dispatches(REPO) == []
