"""Scenarios seeded into the emulator: the pull request they describe, and event payloads in GitHub's
shapes (githubkit's webhook models), checked out the way the runner does for each event."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from githubkit_schemas.latest import models

from bench.run import EXAMPLE_WORKFLOW, REPO_ROOT, WORKFLOW_TOKEN_LOGIN
from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe
from bench.runner import RunnerLayout, checkout, github_env, job_permissions
from bench.scenario import load_scenario
from bench.seeding import post_event, seed
from bench.github.test_emulator import validate

SCENARIOS = REPO_ROOT / "scenarios"
TOKEN = "ghs_seedingtoken"
WEBHOOK_MODELS = {
    "issue_comment": models.WebhookIssueCommentCreated,
    "pull_request_review_comment": models.WebhookPullRequestReviewCommentCreated,
    "pull_request_review": models.WebhookPullRequestReviewSubmitted,
    "workflow_dispatch": models.WebhookWorkflowDispatch,
}


def seeded(tmp_path: Path, name: str):
    """The emulator with scenario ``name`` seeded and its first event posted."""
    scenario = load_scenario(SCENARIOS / name)
    github = GitHubEmulator(tmp_path / "github").start()
    github.add_token(TOKEN, WORKFLOW_TOKEN_LOGIN, type="Bot")
    world = seed(github, scenario, WORKFLOW_TOKEN_LOGIN)
    posted = post_event(github, scenario, world, scenario.event)
    validate(WEBHOOK_MODELS[scenario.event_name], posted.payload)
    return github, scenario, world, posted


@pytest.fixture
def stop():
    emulators = []
    yield emulators.append
    for github in emulators:
        github.stop()
        assert github.server_errors == []
        assert not github.spec_violations, describe(github.spec_violations)


def git(workspace: Path, *args: str) -> str:
    # The checkout belongs to the runner's uid, as on GitHub: git wants it declared safe.
    return subprocess.run(["git", "-c", "safe.directory=*", "-C", str(workspace), *args], check=True,
                          capture_output=True,
                          text=True).stdout.strip()


def test_a_comment_on_the_agents_pull_request(tmp_path, stop):
    github, scenario, world, posted = seeded(tmp_path, "followup-on-pr")
    stop(github)
    payload = posted.payload
    assert (payload["issue"]["number"], payload["issue"]["pull_request"]["url"].endswith("/pulls/8")) == (8, True)
    assert posted.ref == "refs/heads/main" and world.pull_number == 8
    [pull] = github.pulls(scenario.repository)
    assert (pull["head"], pull["head_repo"], pull["state"]) == ("codeagent/issue-7", scenario.repository, "open")
    [branch] = [b for b in github.branches(scenario.repository) if b["name"] == "codeagent/issue-7"]
    assert [c["message"] for c in branch["commits"]] == ["codeagent: received #7, preparing to implement",
                                                         "codeagent: Add a word_count helper (#7)"]
    assert branch["commits"][1]["author"] == \
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert [c["issue_number"] for c in github.comments(scenario.repository)] == [7, 8]
    assert world.bench_comment_ids == [c["id"] for c in github.comments(scenario.repository)]


def test_a_review_comment_is_checked_out_at_the_merge_ref(tmp_path, stop):
    github, scenario, world, posted = seeded(tmp_path, "review-comment")
    stop(github)
    comment, pull = posted.payload["comment"], posted.payload["pull_request"]
    assert (comment["path"], comment["line"], comment["side"]) == ("textstats/__init__.py", 11, "RIGHT")
    assert comment["diff_hunk"].startswith("@@ -4,3 +4,8 @@") and \
        comment["diff_hunk"].endswith("+    return len(text.split())")
    assert comment["commit_id"] == pull["head"]["sha"]
    assert (pull["head"]["ref"], pull["head"]["repo"]["full_name"], pull["base"]["ref"]) == \
        ("codeagent/issue-7", scenario.repository, "main")
    assert posted.ref == "refs/pull/8/merge"

    layout = RunnerLayout(tmp_path / "runner", scenario.repository)
    layout.create()
    sha = checkout(layout, github.clone_url(scenario.repository), github.server_url, TOKEN, posted.ref, posted.sha)
    assert sha == posted.sha and git(layout.workspace, "branch", "--show-current") == ""
    assert "def word_count" in (layout.workspace / "textstats" / "__init__.py").read_text()
    env, _ = github_env(layout, repository=scenario.repository, event_name="pull_request_review_comment",
                        actor="octo-owner", sha=sha, api_url="", server_url="", graphql_url="", run_id=1,
                        ref=posted.ref)
    assert (env["GITHUB_REF"], env["GITHUB_REF_NAME"], env["GITHUB_SHA"]) == ("refs/pull/8/merge", "8/merge", sha)


def test_a_submitted_review_with_an_inline_comment(tmp_path, stop):
    github, scenario, world, posted = seeded(tmp_path, "review-submitted")
    stop(github)
    review = posted.payload["review"]
    assert (review["body"], review["state"], review["user"]["login"]) == ("/code add a docstring", "commented",
                                                                         "octo-owner")
    [inline] = github.prs.review_comments(scenario.repository)
    assert (inline["path"], inline["line"], inline["review_id"]) == ("tests/test_word_count.py", 4, review["id"])


def test_a_review_comment_on_a_pull_request_from_a_fork(tmp_path, stop):
    github, scenario, world, posted = seeded(tmp_path, "fork-pr")
    stop(github)
    head = posted.payload["pull_request"]["head"]
    assert (head["repo"]["full_name"], head["repo"]["fork"], head["label"]) == \
        ("forkful/textstats", True, "forkful:sentence-count")
    assert [b["name"] for b in github.branches(scenario.repository)] == ["main"]
    assert "+    return sum(text.count(mark) for mark in \".!?\")" in posted.payload["comment"]["diff_hunk"]


def test_a_manual_run_and_a_bot_comment(tmp_path, stop):
    github, _, _, posted = seeded(tmp_path / "dispatch", "dispatch")
    stop(github)
    assert posted.payload["inputs"] == {"issue-number": "7", "instructions": "keep the implementation to one line"}
    github, scenario, world, posted = seeded(tmp_path / "bot", "bot-comment-ignored")
    stop(github)
    assert posted.payload["comment"]["user"]["type"] == "Bot"
    assert posted.payload["comment"]["author_association"] == "NONE"
    # The workflow token keeps its write access although a comment by its login is in the scenario.
    assert github.state.role(github.state.repo(scenario.repository), github.state.token_user(TOKEN)) == "write"


def test_later_runs_inherit_the_first_events_author_and_inputs(tmp_path):
    scenario = load_scenario(SCENARIOS / "rerun-same-issue")
    first, second = scenario.runs()
    assert (second.event.name, second.event.author, second.event.author_association) == \
        ("issue_comment", "octo-owner", "OWNER")
    assert second.inputs == first.inputs and len(second.model) == 3


def test_typos_in_the_new_blocks_are_errors(tmp_path):
    (tmp_path / "scenario.yaml").write_text(
        "repository: o/r\nevent: {name: issue_comment}\npull_request: {title: T, head: h, comits: []}\n")
    with pytest.raises(ValueError, match="comits"):
        load_scenario(tmp_path)
    (tmp_path / "scenario.yaml").write_text(
        "repository: o/r\nevent: {name: issue_comment}\nruns: [{event: {name: issue_comment}, modle: []}]\n")
    with pytest.raises(ValueError, match="modle"):
        load_scenario(tmp_path)


def test_a_private_repository_on_a_plan_with_custom_roles(tmp_path, stop):
    github, scenario, _, posted = seeded(tmp_path / "draft", "draft-refused-private-repo")
    stop(github)
    repo = github.state.repo(scenario.repository)
    assert (repo.private, repo.plan, repo.drafts_allowed) == (True, "free", False)
    assert posted.payload["repository"]["private"] is True
    github, scenario, _, _ = seeded(tmp_path / "role", "custom-role-write")
    stop(github)
    repo, user = github.state.repo(scenario.repository), github.state.find_user("rel-eng")
    assert (github.state.role(repo, user), github.state.role_name(repo, user)) == ("write", "release-engineer")


def test_the_workflow_tokens_permissions_are_the_scenarios_or_the_example_workflows(tmp_path):
    assert load_scenario(SCENARIOS / "dispatch-workflows").permissions == {
        "contents": "write", "issues": "write", "pull-requests": "write", "actions": "write"}
    assert load_scenario(SCENARIOS / "add-word-count").permissions is None
    assert job_permissions(EXAMPLE_WORKFLOW) == {"contents": "write", "issues": "write", "pull-requests": "write"}
    (tmp_path / "scenario.yaml").write_text("repository: o/r\nevent: {name: issue_comment}\npermissions: read-all\n")
    assert load_scenario(tmp_path).permissions["actions"] == "read"


@pytest.mark.parametrize("block, error", [
    ("repository_settings: {privat: true}", "privat"),
    ("repository_settings: {private: true, plan: business}", "business"),
    ("permissions: {actions: admin}", "read, write or none"),
])
def test_typos_in_the_repository_blocks_are_errors(tmp_path, block, error):
    (tmp_path / "scenario.yaml").write_text(f"repository: o/r\nevent: {{name: issue_comment}}\n{block}\n")
    with pytest.raises(ValueError, match=error):
        load_scenario(tmp_path)
