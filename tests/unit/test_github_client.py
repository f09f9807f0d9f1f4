"""GitHubClient for real, over HTTP, against the GitHub emulator: our types out, failures explained."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest

from codeagent.changes import FileChange
from codeagent.errors import GitHubError
from codeagent.github_types import Comment, Issue, PullRequest
from codeagent.github_client import GitHubClient
from bench.github import gitrepo
from bench.github.emulator import GitHubEmulator

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


class Waits:
    """The client's sleep, which only records, and the notes it logged about each wait.

    ``then`` runs during the wait: what happens on GitHub meanwhile."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.notes: list[str] = []
        self.then = lambda: None

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.then()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client(emulator: GitHubEmulator, waits: Waits) -> GitHubClient:
    return GitHubClient(BOT_TOKEN, REPO, emulator.api_url, sleep=waits.sleep, on_wait=waits.notes.append)


def push_branch(emulator: GitHubEmulator, branch: str = BRANCH) -> None:
    """Put ``branch`` on the emulator's repository, one empty commit ahead of main (as the action's first push)."""
    bare = emulator.root / REPO.split("/")[0] / f"{REPO.split('/')[1]}.git"
    sha = gitrepo.git(bare, "commit-tree", "main^{tree}", "-p", "main", "-m", "codeagent: received #7",
                     env=COMMITTER).strip()
    gitrepo.git(bare, "update-ref", f"refs/heads/{branch}", sha)


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
    assert client.can_write(login) is may_write
    base = {"maintain": "write", "triage": "read"}.get(role, role)
    assert client.permission_of(login) == base  # the base role: custom roles and maintain map to it


def test_a_login_github_does_not_know_has_no_access(client):
    assert client.permission_of("no-such-user-anywhere") == "none"
    assert client.can_write("no-such-user-anywhere") is False


# -- the issue and its thread --

def test_the_issue(client, emulator):
    issue = client.issue(7)
    assert issue == Issue(7, "Add a word_count helper", "Please add `word_count`.", "octo-owner",
                          is_pull_request=False, updated_at=issue.updated_at)
    assert issue.updated_at.endswith("Z")


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


def test_the_files_of_a_pull_request_renames_and_removals_included(client, emulator):
    bare = emulator.root / REPO.split("/")[0] / f"{REPO.split('/')[1]}.git"
    emulator.prs.push_commit(REPO, BRANCH, {"textstats/__init__.py": None, "textstats/core.py":
                                            "def char_count(text):\n    return len(text)\n", "odd`name.md": "x\n"},
                             "Tidy", "octo-owner")
    assert gitrepo.branch_tips(bare)[BRANCH]
    pull = client.create_pull_request("Tidy", "", BRANCH, "main", draft=False)

    files = client.pull_request_files(pull.number)

    assert files == [FileChange("odd`name.md", "added"),
                     FileChange("textstats/core.py", "renamed", "textstats/__init__.py")]


# -- failures, explained --

def requests_to(emulator: GitHubEmulator, method: str, pattern: str) -> list[int]:
    """The statuses GitHub answered to the requests of ``method`` whose path matches."""
    return [r["status"] for r in emulator.api_requests() if r["method"] == method and re.search(pattern, r["path"])]


def test_actions_not_allowed_to_open_pull_requests_names_the_setting(client, emulator, waits):
    push_branch(emulator)
    emulator.faults.add("POST", r"/pulls$", status=403, body={
        "message": "GitHub Actions is not permitted to create or approve pull requests.",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "403"})

    message = error_of(lambda: client.create_pull_request("t", "b", BRANCH, "main", draft=True))

    assert message.startswith("opening the pull request: GitHub Actions is not permitted")
    assert "Allow GitHub Actions to create and approve pull requests" in message
    assert "Settings → Actions → General" in message
    assert requests_to(emulator, "POST", r"/pulls$") == [403] and waits.slept == []  # not a rate limit


def test_a_refused_token_says_so(emulator, waits):
    client = GitHubClient("ghs_expired", REPO, emulator.api_url, sleep=waits.sleep)

    message = error_of(lambda: client.comment(7, "hello"))

    assert "commenting on the issue: the token was refused (401 Bad credentials)" in message
    assert "github-token" in message
    assert requests_to(emulator, "POST", r"/comments$") == [401] and waits.slept == []


def test_a_missing_permission_names_the_permissions_the_job_needs(client, emulator, waits):
    emulator.faults.add("POST", r"/issues/7/comments$", status=404)

    message = error_of(lambda: client.comment(7, "hello"))

    assert message.startswith("commenting on the issue: 404 Not Found")
    assert "`permissions: contents: write, issues: write, pull-requests: write`" in message
    assert waits.slept == []


def test_a_forbidden_call_that_is_no_rate_limit_names_the_permissions(client, emulator, waits):
    emulator.faults.add("PATCH", r"/issues/comments/\d+$", status=403, body={
        "message": "Resource not accessible by integration", "status": "403"})
    posted = client.comment(7, "Working on it…")

    message = error_of(lambda: client.edit_comment(7, posted.id, "Done."))

    assert message.startswith("editing a comment: 403 Resource not accessible by integration")
    assert "`permissions: contents: write, issues: write, pull-requests: write`" in message
    assert waits.slept == []


def test_a_validation_error_carries_githubs_detail(client, emulator):
    message = error_of(lambda: client.create_pull_request("t", "b", "no-such-branch", "main", draft=True))

    assert message.startswith("opening the pull request: GitHub answered 422: Validation Failed")


# -- GitHub failing for a while: retried, bounded --

def test_one_bad_gateway_is_retried_without_the_caller_noticing(client, emulator, waits):
    emulator.faults.add("POST", r"/issues/7/comments$", status=502)

    posted = client.comment(7, "hello")

    assert [c["body"] for c in emulator.comments(REPO)] == ["hello"]
    assert posted.body == "hello"
    assert requests_to(emulator, "POST", r"/comments$") == [502, 201]
    assert len(waits.slept) == 1 and 0.5 <= waits.slept[0] <= 1
    assert waits.notes == [f"commenting on the issue: GitHub answered 502 Bad Gateway; retrying in "
                           f"{waits.slept[0]:.1f} s (attempt 2 of 4)"]


def test_three_server_errors_then_success_back_off_exponentially(client, emulator, waits):
    emulator.faults.add("GET", r"/issues/7$", status=500, times=3)

    assert client.issue(7).title == "Add a word_count helper"

    assert requests_to(emulator, "GET", r"/issues/7$") == [500, 500, 500, 200]
    first, second, third = waits.slept
    assert 0.5 <= first <= 1 and 1 <= second <= 2 and 2 <= third <= 4


def test_github_failing_on_every_attempt_gives_up_after_four_saying_to_re_run(client, emulator, waits):
    emulator.faults.add("GET", r"/issues/7/comments$", status=500, times=100)

    message = error_of(lambda: client.comments(7))

    assert message.startswith("reading the issue's comments: GitHub kept failing (500 Internal Server Error) "
                              "after 4 attempts over ")
    assert "githubstatus.com" in message and "re-run the job" in message
    assert requests_to(emulator, "GET", r"/comments$") == [500] * 4
    assert len(waits.slept) == 3 and sum(waits.slept) <= 7


def test_a_comment_answered_500_is_posted_once(client, emulator):
    # The emulator's 500 leaves the comment unposted, like most of GitHub's: the retry must post it,
    # after looking whether the failed attempt did after all.
    emulator.faults.add("POST", r"/issues/7/comments$", status=500)

    posted = client.comment(7, "hello")

    assert [(c["id"], c["body"]) for c in emulator.comments(REPO)] == [(posted.id, "hello")]
    assert [(r["method"], r["status"]) for r in emulator.api_requests() if "/comments" in r["path"]] == [
        ("POST", 500), ("GET", 200), ("POST", 201)]


def test_a_comment_github_posted_despite_a_bad_gateway_is_not_posted_again(client, emulator, waits):
    emulator.faults.add("POST", r"/issues/7/comments$", status=502)
    waits.then = lambda: emulator.add_issue_comment(REPO, 7, "github-actions[bot]", "hello")

    posted = client.comment(7, "hello")

    assert [(c["id"], c["author"]) for c in emulator.comments(REPO)] == [(posted.id, "github-actions[bot]")]
    assert requests_to(emulator, "POST", r"/comments$") == [502]


def test_a_pull_request_github_opened_despite_a_gateway_timeout_is_not_opened_again(client, emulator, waits):
    push_branch(emulator)
    emulator.faults.add("POST", r"/pulls$", status=504)
    waits.then = lambda: emulator.prs.create_pull(REPO, "Add a word_count helper", "Closes #7", BRANCH, "main",
                                              draft=True)

    pull = client.create_pull_request("Add a word_count helper", "Closes #7", BRANCH, "main", draft=True)

    assert [p["number"] for p in emulator.pulls(REPO)] == [pull.number]
    assert (pull.head, pull.base, pull.draft) == (BRANCH, "main", True)
    assert requests_to(emulator, "POST", r"/pulls$") == [504]


def test_a_pull_request_answered_502_is_opened_once(client, emulator):
    push_branch(emulator)
    emulator.faults.add("POST", r"/pulls$", status=502)

    pull = client.create_pull_request("Add a word_count helper", "Closes #7", BRANCH, "main", draft=True)

    assert [p["number"] for p in emulator.pulls(REPO)] == [pull.number]
    assert requests_to(emulator, "POST", r"/pulls$") == [502, 201]


def test_an_unreachable_api_names_its_url(waits):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        api_url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v3"
    client = GitHubClient(BOT_TOKEN, REPO, api_url, sleep=waits.sleep, on_wait=waits.notes.append)

    message = error_of(lambda: client.issue(7))

    assert message == (f"reading the issue: could not reach the GitHub API at {api_url} (Connection refused) "
                       "after 4 attempts. Check that the runner can reach it (on GitHub Enterprise Server: "
                       "GITHUB_API_URL), then re-run the job.")
    assert len(waits.slept) == 3
    assert waits.notes[0].startswith("reading the issue: no answer from GitHub (Connection refused); retrying in")


# -- rate limits --

def reset_time(message: str) -> datetime:
    (clock,) = re.findall(r"(\d\d:\d\d:\d\d) UTC", message)
    now = datetime.now(timezone.utc)
    return datetime.combine(now.date(), datetime.strptime(clock, "%H:%M:%S").time(), timezone.utc)


def test_a_rate_limit_that_resets_soon_is_waited_out(client, emulator, waits):
    emulator.faults.rate_limited("GET", r"/issues/7$", reset_in=5)

    assert client.issue(7).number == 7

    (slept,) = waits.slept
    assert 5 <= slept <= 6.5
    (note,) = waits.notes
    assert note.startswith(f"GitHub rate limit: waiting {slept:.0f} s (resets at ")
    assert note.endswith(" UTC), then reading the issue again")
    assert requests_to(emulator, "GET", r"/issues/7$") == [403, 200]


def test_a_rate_limit_that_resets_in_an_hour_fails_at_once_saying_when(client, emulator, waits):
    emulator.faults.rate_limited("POST", r"/issues/7/comments$", reset_in=3600)

    message = error_of(lambda: client.comment(7, "hello"))

    assert message.startswith("commenting on the issue: the GitHub API rate limit of this token is used up until ")
    assert "(in 60 min)" in message and "hourly quota" in message and "re-run the job after the reset" in message
    assert abs((reset_time(message) - datetime.now(timezone.utc)).total_seconds() % 86400 - 3600) < 5
    assert waits.slept == [] and emulator.comments(REPO) == []


def test_a_rate_limit_still_there_after_its_reset_is_not_waited_for_twice(client, emulator, waits):
    emulator.faults.rate_limited("GET", r"/issues/7$", reset_in=5, times=2)

    message = error_of(lambda: client.issue(7))

    assert "rate limit of this token is used up" in message
    assert len(waits.slept) == 1 and requests_to(emulator, "GET", r"/issues/7$") == [403, 403]


def test_a_secondary_rate_limit_is_waited_out_as_retry_after_says(client, emulator, waits):
    emulator.faults.secondary_rate_limited("POST", r"/issues/7/comments$", retry_after=3)

    client.comment(7, "hello")

    assert waits.slept == [3]
    assert waits.notes == ["GitHub secondary rate limit: waiting 3 s (Retry-After), then commenting on the "
                           "issue again"]
    assert [c["body"] for c in emulator.comments(REPO)] == ["hello"]


def test_a_secondary_rate_limit_asking_for_an_hour_fails_at_once(client, emulator, waits):
    emulator.faults.secondary_rate_limited("GET", r"/issues/7$", retry_after=3600)

    message = error_of(lambda: client.issue(7))

    assert message.startswith("reading the issue: GitHub's secondary rate limit asks to wait 3600 s (Retry-After), "
                              "longer than codeagent waits (120 s).")
    assert waits.slept == []


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute(client, emulator, waits):
    emulator.faults.add("GET", r"/issues/7$", status=429, body={
        "message": "You have exceeded a secondary rate limit and have been temporarily blocked."})

    assert client.issue(7).number == 7
    assert waits.slept == [60]


def test_rate_limit_waits_of_one_call_stay_bounded(client, emulator, waits):
    emulator.faults.secondary_rate_limited("GET", r"/issues/7$", retry_after=100, times=100)

    message = error_of(lambda: client.issue(7))

    assert message.startswith("reading the issue: GitHub kept rate-limiting the requests after waiting 100 s in all")
    assert waits.slept == [100]
