"""GitHubClient for real, over HTTP, against the GitHub emulator: our types out, failures explained."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from codeagent.errors import GitHubError
from codeagent.github_client import Comment, GitHubClient, Issue, PullRequest
from tests.bench import gh_git
from tests.bench.github_emulator import GitHubEmulator

REPO = "octo-org/textstats"
BOT_TOKEN = "ghs_workflowtoken"
BRANCH = "codeagent/issue-7"
COMMITTER = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
             for what, value in (("NAME", "github-actions[bot]"), ("EMAIL", "bot@users.noreply.github.com"))}


@pytest.fixture
def emulator(tmp_path: Path):
    files = tmp_path / "files"
    (files / "textstats").mkdir(parents=True)
    (files / "textstats" / "__init__.py").write_text("def char_count(text):\n    return len(text)\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
        github.create_repo(REPO, files)
        for login, role in (("octo-owner", "admin"), ("keeper", "maintain"), ("writer", "write"),
                            ("triager", "triage"), ("reader", "read")):
            github.set_permission(REPO, login, role)
        github.create_issue(REPO, "Add a word_count helper", "Please add `word_count`.", "octo-owner", number=7)
        yield github
        assert github.server_errors == []


@pytest.fixture
def client(emulator: GitHubEmulator) -> GitHubClient:
    return GitHubClient(BOT_TOKEN, REPO, emulator.api_url, paced=False)


def push_branch(emulator: GitHubEmulator, branch: str = BRANCH) -> None:
    """Put ``branch`` on the emulator's repository, one empty commit ahead of main (as the action's first push)."""
    bare = emulator.root / REPO.split("/")[0] / f"{REPO.split('/')[1]}.git"
    sha = gh_git.git(bare, "commit-tree", "main^{tree}", "-p", "main", "-m", "codeagent: received #7",
                     env=COMMITTER).strip()
    gh_git.git(bare, "update-ref", f"refs/heads/{branch}", sha)


def open_draft(client: GitHubClient, emulator: GitHubEmulator) -> PullRequest:
    push_branch(emulator)
    return client.create_pull_request("Add a word_count helper", "Closes #7\n\nWork in progress", BRANCH, "main",
                                      draft=True)


def error_of(call) -> str:
    with pytest.raises(GitHubError) as caught:
        call()
    return str(caught.value)


# -- who may ask --

@pytest.mark.parametrize("login, role, may_write", [
    ("octo-owner", "admin", True),
    ("keeper", "maintain", True),
    ("writer", "write", True),
    ("triager", "triage", False),
    ("reader", "read", False),
    ("stranger", "none", False),
])
def test_roles_and_write_access(client, login, role, may_write):
    assert client.role_of(login) == role
    assert client.can_write(login) is may_write


def test_a_login_github_does_not_know_has_no_access(client):
    assert client.role_of("no-such-user-anywhere") == "none"
    assert client.can_write("no-such-user-anywhere") is False


# -- the issue and its thread --

def test_the_issue(client, emulator):
    assert client.issue(7) == Issue(7, "Add a word_count helper", "Please add `word_count`.", "octo-owner",
                                    f"{emulator.server_url}/octo-org/textstats/issues/7",
                                    locked=False, is_pull_request=False)


def test_the_comments_oldest_first_with_bots_marked(client, emulator):
    emulator.add_issue_comment(REPO, 7, "octo-owner", "Keep it short.")
    emulator.add_issue_comment(REPO, 7, "github-actions[bot]", "On it.")
    emulator.add_issue_comment(REPO, 7, "writer", "/code go")

    comments = client.comments(7)

    assert [(c.author, c.author_is_bot, c.body) for c in comments] == [
        ("octo-owner", False, "Keep it short."),
        ("github-actions[bot]", True, "On it."),
        ("writer", False, "/code go"),
    ]
    assert all(isinstance(c, Comment) and c.id and c.html_url for c in comments)


def test_react_to_the_trigger_comment(client, emulator):
    trigger = emulator.add_issue_comment(REPO, 7, "writer", "/code go")

    client.react(7, trigger["id"], "eyes")

    assert emulator.reactions(REPO) == [{"comment_id": trigger["id"], "issue_number": 7, "content": "eyes",
                                         "author": "github-actions[bot]"}]


def test_comment_then_edit_it(client, emulator):
    posted = client.comment(7, "Working on it…")

    assert posted.author == "github-actions[bot]" and posted.author_is_bot and posted.body == "Working on it…"
    client.edit_comment(7, posted.id, "Done: see the pull request.")
    assert [(c["id"], c["body"]) for c in emulator.comments(REPO)] == [(posted.id, "Done: see the pull request.")]


# -- the pull request --

def test_no_pull_request_for_a_new_branch(client, emulator):
    push_branch(emulator)
    assert client.find_pull_request(BRANCH) is None


def test_open_a_draft_then_find_it(client, emulator):
    pull = open_draft(client, emulator)

    assert (pull.state, pull.draft, pull.merged, pull.head, pull.base) == ("open", True, False, BRANCH, "main")
    assert pull.html_url.endswith(f"/octo-org/textstats/pull/{pull.number}")
    assert client.find_pull_request(BRANCH) == pull
    assert client.find_pull_request("codeagent/issue-8") is None
    (seen,) = emulator.pulls(REPO)
    assert (seen["title"], seen["body"], seen["draft"]) == ("Add a word_count helper",
                                                           "Closes #7\n\nWork in progress", True)


def test_update_the_body_and_close(client, emulator):
    pull = open_draft(client, emulator)

    client.update_pull_request(pull.number, body="Closes #7\n\n## Summary\n\nDone.")
    assert emulator.pulls(REPO)[0]["body"] == "Closes #7\n\n## Summary\n\nDone."

    client.update_pull_request(pull.number, state="closed")
    (seen,) = emulator.pulls(REPO)
    assert seen["state"] == "closed" and seen["body"] == "Closes #7\n\n## Summary\n\nDone."
    assert client.find_pull_request(BRANCH).state == "closed"  # found in any state


def test_mark_ready_for_review(client, emulator):
    pull = open_draft(client, emulator)

    client.mark_ready_for_review(pull.number)
    client.mark_ready_for_review(pull.number)  # already ready: nothing to do

    assert emulator.pulls(REPO)[0]["draft"] is False
    assert client.find_pull_request(BRANCH).draft is False


# -- failures, explained --

def test_actions_not_allowed_to_open_pull_requests_names_the_setting(client, emulator):
    push_branch(emulator)
    emulator.faults.add("POST", r"/pulls$", status=403, body={
        "message": "GitHub Actions is not permitted to create or approve pull requests.",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "403"})

    message = error_of(lambda: client.create_pull_request("t", "b", BRANCH, "main", draft=True))

    assert message.startswith("opening the pull request: GitHub Actions is not permitted")
    assert "Allow GitHub Actions to create and approve pull requests" in message
    assert "Settings → Actions → General" in message


def test_a_refused_token_says_so(emulator):
    client = GitHubClient("ghs_expired", REPO, emulator.api_url, paced=False)

    message = error_of(lambda: client.comment(7, "hello"))

    assert "commenting on the issue: the token was refused (401 Bad credentials)" in message
    assert "github-token" in message


def test_a_missing_permission_names_the_permissions_the_job_needs(client, emulator):
    emulator.faults.add("POST", r"/issues/7/comments$", status=404)

    message = error_of(lambda: client.comment(7, "hello"))

    assert message.startswith("commenting on the issue: 404 Not Found")
    assert "`permissions: contents: write, issues: write, pull-requests: write`" in message


def test_a_validation_error_carries_githubs_detail(client, emulator):
    message = error_of(lambda: client.create_pull_request("t", "b", "no-such-branch", "main", draft=True))

    assert message.startswith("opening the pull request: GitHub answered 422: Validation Failed")


def test_one_bad_gateway_is_retried_without_the_caller_noticing(client, emulator):
    emulator.faults.add("POST", r"/issues/7/comments$", status=502)
    started = time.monotonic()

    posted = client.comment(7, "hello")

    assert time.monotonic() - started < 3
    assert [c["body"] for c in emulator.comments(REPO)] == ["hello"]
    assert posted.body == "hello"
    assert [r["status"] for r in emulator.api_requests() if r["method"] == "POST"] == [502, 201]
