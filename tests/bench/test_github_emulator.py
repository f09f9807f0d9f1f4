"""The GitHub emulator answers like GitHub: shapes (checked against githubkit's models
generated from GitHub's OpenAPI description), PyGithub, git over smart HTTP, errors, faults."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from github import Auth, Github, GithubException
from githubkit_schemas.latest import models
from pydantic import TypeAdapter

from tests.bench.github_emulator import GitHubEmulator

REPO = "octo-org/textstats"
BOT_TOKEN, OWNER_TOKEN, READER_TOKEN = "ghs_workflowtoken", "ghp_ownertoken", "ghp_readertoken"
GITHUB_HEADERS = ("X-GitHub-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                  "X-RateLimit-Used", "X-RateLimit-Resource", "X-GitHub-Api-Version-Selected",
                  "X-GitHub-Media-Type")


@pytest.fixture
def github(tmp_path: Path):
    files = tmp_path / "files"
    (files / "textstats").mkdir(parents=True)
    (files / "textstats" / "__init__.py").write_text("def char_count(text):\n    return len(text)\n")
    (files / "README.md").write_text("# textstats\n")
    with GitHubEmulator(tmp_path / "github") as emulator:
        emulator.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
        emulator.add_token(OWNER_TOKEN, "octo-owner")
        emulator.add_token(READER_TOKEN, "reader")
        emulator.create_repo(REPO, files)
        emulator.set_permission(REPO, "octo-owner", "admin")
        emulator.create_issue(REPO, "Add a word_count helper", "Please add `word_count`.", "octo-owner", number=7)
        emulator.add_issue_comment(REPO, 7, "octo-owner", "Keep it short.")
        yield emulator
        assert emulator.server_errors == []


def session(token: str | None) -> requests.Session:
    http = requests.Session()
    if token:
        http.headers["Authorization"] = f"token {token}"
    return http


def call(http: requests.Session, method: str, url: str, model: Any, status: int = 200, **kwargs: Any) -> Any:
    """Send, check status and GitHub's headers, validate the JSON against ``model``; return it."""
    response = http.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    for header in GITHUB_HEADERS:
        assert response.headers.get(header), header
    if status == 201 and "url" in response.json():
        assert response.headers["Location"] == response.json()["url"]
    if status == 204:
        assert response.content == b""
        return None
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    validate(model, response.json())
    return response.json()


def pygithub(github: GitHubEmulator) -> Github:
    """PyGithub pointed at the emulator, without its pauses between requests and retries."""
    return Github(auth=Auth.Token(BOT_TOKEN), base_url=github.api_url, retry=None,
                  seconds_between_requests=None, seconds_between_writes=None)


def validate(model: Any, data: Any) -> None:
    """Fail unless ``data`` is a valid ``model``: types strict (no "2" for 2), as JSON carries them."""
    TypeAdapter(model).validate_json(json.dumps(data), strict=True)


# -- git --

def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GIT_AUTHOR_NAME": "github-actions[bot]",
           "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
           "GIT_COMMITTER_NAME": "github-actions[bot]",
           "GIT_COMMITTER_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def auth_header(token: str) -> str:
    """The header actions/checkout configures as ``http.<server>/.extraheader``."""
    return "http.extraHeader=Authorization: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


def clone(github: GitHubEmulator, dest: Path, token: str = BOT_TOKEN, *extra: str) -> Path:
    git("-c", auth_header(token), "clone", *extra, github.clone_url(REPO), str(dest))
    return dest


def commit(checkout: Path, files: dict[str, str | bytes], message: str) -> None:
    for name, content in files.items():
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "-m", message, cwd=checkout)


def push_branch(github: GitHubEmulator, tmp_path: Path, branch: str, files: dict[str, str | bytes],
                message: str = "Add word_count") -> str:
    checkout = clone(github, tmp_path / f"push-{branch.replace('/', '-')}")
    git("switch", "--quiet", "-c", branch, cwd=checkout)
    commit(checkout, files, message)
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", branch, cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout).stdout.strip()


def test_rest_answers_match_githubs_schema(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    repo = call(http, "GET", api, models.FullRepository)
    assert (repo["full_name"], repo["default_branch"], repo["clone_url"]) == (REPO, "main", github.clone_url(REPO))
    issue = call(http, "GET", f"{api}/issues/7", models.Issue)
    assert (issue["number"], issue["user"]["login"], "pull_request" in issue) == (7, "octo-owner", False)
    assert [c["body"] for c in call(http, "GET", f"{api}/issues/7/comments", list[models.IssueComment])] \
        == ["Keep it short."]

    comment = call(http, "POST", f"{api}/issues/7/comments", models.IssueComment, 201, json={"body": "On it"})
    assert comment["user"] == github.user_json("github-actions[bot]")
    assert comment["user"]["id"] == 41898282 and comment["user"]["type"] == "Bot"
    comment_url = f"{api}/issues/comments/{comment['id']}"
    call(http, "PATCH", comment_url, models.IssueComment, json={"body": "Done"})
    assert call(http, "GET", comment_url, models.IssueComment)["body"] == "Done"
    call(http, "POST", f"{comment_url}/reactions", models.Reaction, 201, json={"content": "eyes"})
    call(http, "POST", f"{comment_url}/reactions", models.Reaction, 200, json={"content": "eyes"})
    call(http, "POST", f"{api}/issues/7/reactions", models.Reaction, 201, json={"content": "rocket"})
    assert len(call(http, "GET", f"{comment_url}/reactions", list[models.Reaction])) == 1
    assert call(http, "GET", comment_url, models.IssueComment)["reactions"]["eyes"] == 1

    for login, role, permission in [("octo-owner", "admin", "admin"), ("maintainer", "maintain", "write"),
                                    ("triager", "triage", "read"), ("outsider", None, "read")]:
        if role:
            github.set_permission(REPO, login, role)
        github.add_user(login)
        answer = call(http, "GET", f"{api}/collaborators/{login}/permission", models.RepositoryCollaboratorPermission)
        assert (answer["permission"], answer["role_name"]) == (permission, role or "read")

    head_sha = push_branch(github, tmp_path, "codeagent/issue-7", {"textstats/words.py": "X = 1\n"})
    pull = call(http, "POST", f"{api}/pulls", models.PullRequest, 201,
                json={"title": "Add word_count", "head": "codeagent/issue-7", "base": "main", "body": "WIP",
                      "draft": True})
    assert (pull["number"], pull["draft"], pull["head"]["sha"], pull["commits"]) == (8, True, head_sha, 1)
    listed = call(http, "GET", f"{api}/pulls", list[models.PullRequestSimple],
                  params={"head": "octo-org:codeagent/issue-7", "state": "open"})
    assert [p["number"] for p in listed] == [8]
    call(http, "PATCH", f"{api}/pulls/8", models.PullRequest, json={"body": "Ready"})
    as_issue = call(http, "GET", f"{api}/issues/8", models.Issue)
    assert (as_issue["body"], as_issue["pull_request"]["url"]) == ("Ready", pull["url"])
    assert call(http, "GET", f"{api}/pulls/8", models.PullRequest)["changed_files"] == 1
    assert call(http, "GET", f"{api}/pulls/8/comments", list[models.PullRequestReviewComment]) == []
    assert call(http, "GET", f"{api}/pulls/8/reviews", list[models.PullRequestReview]) == []

    branch = call(http, "GET", f"{api}/branches/codeagent/issue-7", models.BranchWithProtection)
    assert branch["commit"]["commit"]["message"] == "Add word_count"
    assert branch["commit"]["author"]["login"] == "github-actions[bot]"
    ref = call(http, "GET", f"{api}/git/ref/heads/codeagent/issue-7", models.GitRef)
    assert ref["object"]["sha"] == head_sha
    call(http, "DELETE", ref["url"], None, 204)
    call(http, "GET", f"{api}/branches/codeagent/issue-7", models.BasicError, 404)
    call(http, "DELETE", ref["url"], models.BasicError, 422)
    assert github.unknown_requests == []


def test_pull_request_refusals_are_githubs(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    push_branch(github, tmp_path, "feature", {"a.txt": "a\n"})
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", "main:empty", cwd=tmp_path / "push-feature")
    new = {"title": "T", "base": "main"}
    call(http, "POST", f"{api}/pulls", models.PullRequest, 201, json={**new, "head": "feature"})
    for head, message in [("octo-org:feature", "A pull request already exists for octo-org:feature."),
                          ("empty", "No commits between main and empty")]:
        refusal = call(http, "POST", f"{api}/pulls", models.ValidationError, 422, json={**new, "head": head})
        assert refusal["errors"] == [{"resource": "PullRequest", "code": "custom", "message": message}]
    refusal = call(http, "POST", f"{api}/pulls", models.ValidationError, 422, json={**new, "head": "missing"})
    assert refusal["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
    assert call(http, "POST", f"{api}/pulls", models.ValidationError, 422,
                json={**new, "head": "empty", "body": "x" * 70000})["message"] == "Validation Failed"
    # Without "owner:", GitHub ignores the head filter.
    assert len(call(http, "GET", f"{api}/pulls", list[models.PullRequestSimple], params={"head": "nope"})) == 1
    assert call(http, "GET", f"{api}/pulls", list, params={"head": "octo-org:nope"}) == []


def test_event_payload_helpers_give_githubs_shapes(github: GitHubEmulator) -> None:
    comment = github.add_issue_comment(REPO, 7, "octo-owner", "/code go", author_association="OWNER")
    payload = {"action": "created", "issue": github.issue_json(REPO, 7), "comment": comment,
               "repository": github.repo_json(REPO), "sender": github.user_json("octo-owner")}
    validate(models.Issue, payload["issue"])
    validate(models.IssueComment, comment)
    validate(models.FullRepository, payload["repository"])
    validate(models.SimpleUser, payload["sender"])
    validate(models.WebhookIssueCommentCreated, payload)
    assert payload["issue"]["comments"] == 2 and comment["author_association"] == "OWNER"
    assert github.comments(REPO)[-1] == {"id": comment["id"], "issue_number": 7, "author": "octo-owner",
                                         "body": "/code go"}


def test_pygithub_drives_the_whole_flow(github: GitHubEmulator, tmp_path: Path) -> None:
    push_branch(github, tmp_path, "codeagent/issue-7", {"textstats/words.py": "X = 1\n"})
    gh = pygithub(github)
    repo = gh.get_repo(REPO)
    issue = repo.get_issue(7)
    assert [c.body for c in issue.get_comments()] == ["Keep it short."]
    comment = issue.create_comment("Working on it")
    comment.edit("Working on it: done")
    comment.create_reaction("eyes")
    assert repo.get_collaborator_permission("octo-owner") == "admin"
    pull = repo.create_pull(title="Add word_count", body="WIP", head="codeagent/issue-7", base="main", draft=True)
    assert [p.number for p in repo.get_pulls(state="open", head="octo-org:codeagent/issue-7")] == [pull.number]
    pull.edit(body="Implements #7")
    pull.mark_ready_for_review()
    assert pull.draft is False
    repo.get_git_ref("heads/codeagent/issue-7").delete()

    assert github.pulls(REPO) == [{"number": 8, "title": "Add word_count", "body": "Implements #7",
                                   "head": "codeagent/issue-7", "base": "main", "draft": False, "state": "open",
                                   "head_repo": REPO, "merged": False}]
    assert [(c["author"], c["body"]) for c in github.comments(REPO)] == [
        ("octo-owner", "Keep it short."), ("github-actions[bot]", "Working on it: done")]
    assert github.reactions(REPO) == [{"comment_id": comment.id, "issue_number": 7, "content": "eyes",
                                       "author": "github-actions[bot]"}]
    assert [b["name"] for b in github.branches(REPO)] == ["main"]
    assert ("POST", "/graphql", 200) in [tuple(r.values()) for r in github.api_requests()]
    assert github.unknown_requests == []


def test_graphql_draft_round_trip_and_unknown_node(github: GitHubEmulator, tmp_path: Path) -> None:
    push_branch(github, tmp_path, "feature", {"a.txt": "a\n"})
    gh = pygithub(github)
    pull = gh.get_repo(REPO).create_pull(title="T", body="", head="feature", base="main")
    pull.convert_to_draft()
    assert github.pulls(REPO)[0]["draft"] is True
    answer = session(BOT_TOKEN).post(github.graphql_url, json={
        "query": "mutation { markPullRequestReadyForReview(input: $input) { pullRequest { isDraft } } }",
        "variables": {"input": {"pullRequestId": "nope"}}}).json()
    assert answer["errors"][0]["type"] == "NOT_FOUND"


def test_git_clone_push_and_branches(github: GitHubEmulator, tmp_path: Path) -> None:
    checkout = clone(github, tmp_path / "checkout")
    assert (checkout / "textstats" / "__init__.py").exists()
    git("switch", "--quiet", "-c", "codeagent/issue-7", cwd=checkout)
    commit(checkout, {"textstats/words.py": "def word_count(t):\n    return len(t.split())\n"}, "Add word_count")
    # A URL with user:token, as a user would paste it.
    url = github.clone_url(REPO).replace("http://", f"http://x-access-token:{BOT_TOKEN}@")
    git("push", "--quiet", url, "codeagent/issue-7", cwd=checkout)
    git("clone", "--quiet", url, str(tmp_path / "by-url"))

    branches = {b["name"]: b["commits"] for b in github.branches(REPO)}
    assert branches["main"] == []
    [pushed] = branches["codeagent/issue-7"]
    assert (pushed["message"], pushed["files"]) == ("Add word_count", ["textstats/words.py"])
    assert pushed["author"] == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert all(r["kind"] == "git" for r in github.request_log) and github.api_requests() == []


def test_git_refuses_pushes_without_rights(github: GitHubEmulator, tmp_path: Path) -> None:
    checkout = clone(github, tmp_path / "checkout")
    commit(checkout, {"b.txt": "b\n"}, "B")
    refused = git("push", github.clone_url(REPO), "HEAD:refs/heads/anonymous", cwd=checkout, check=False)
    assert refused.returncode != 0 and "terminal prompts disabled" in refused.stderr
    assert 401 in [r["status"] for r in github.request_log]
    refused = git("-c", auth_header(READER_TOKEN), "push", "origin", "HEAD:refs/heads/reader", cwd=checkout,
                  check=False)
    assert refused.returncode != 0 and "Permission to octo-org/textstats.git denied to reader" in refused.stderr
    commit(checkout, {".github/workflows/ci.yml": "on: push\n"}, "CI")
    refused = git("-c", auth_header(BOT_TOKEN), "push", "origin", "HEAD:refs/heads/ci", cwd=checkout, check=False)
    assert refused.returncode != 0 and "without `workflows` permission" in refused.stderr
    assert [b["name"] for b in github.branches(REPO)] == ["main"]


def test_git_big_push_is_chunked_and_shallow_fetch_works(github: GitHubEmulator, tmp_path: Path) -> None:
    checkout = clone(github, tmp_path / "checkout")
    commit(checkout, {"data.bin": os.urandom(1_500_000)}, "Big file")
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", "HEAD:refs/heads/big", cwd=checkout)
    assert any(r["chunked"] and r["path"].endswith("/git-receive-pack") for r in github.request_log)
    assert github.branches(REPO)[0]["commits"][0]["files"] == ["data.bin"]

    shallow = clone(github, tmp_path / "shallow", BOT_TOKEN, "--depth=1", "--branch=big")
    assert git("rev-list", "--count", "HEAD", cwd=shallow).stdout.strip() == "1"
    assert (shallow / "data.bin").stat().st_size == 1_500_000
    git("-c", auth_header(BOT_TOKEN), "fetch", "--depth=1", "origin", "main", cwd=shallow)


def test_git_gzip_request_bodies_and_protocol_v2(github: GitHubEmulator) -> None:
    """git gzips large fetch negotiations; GIT_PROTOCOL must reach http-backend for protocol v2."""
    body = b"0014command=ls-refs\n" + b"0001" + b"0000"
    answer = requests.post(
        github.clone_url(REPO) + "/git-upload-pack", data=gzip.compress(body),
        headers={"Authorization": "Basic " + base64.b64encode(f"x:{BOT_TOKEN}".encode()).decode(),
                 "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip",
                 "Git-Protocol": "version=2"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert b" refs/heads/main" in answer.content


def test_credentials_are_required(github: GitHubEmulator) -> None:
    url = f"{github.api_url}/repos/{REPO}"
    for token, message in [(None, "Requires authentication"), ("wrong", "Bad credentials")]:
        refusal = call(session(token), "GET", url, models.BasicError, 401)
        assert refusal == {"message": message, "documentation_url": "https://docs.github.com/rest", "status": "401"}
    assert call(session(BOT_TOKEN), "GET", f"{github.api_url}/user", models.BasicError, 403)["message"] \
        == "Resource not accessible by integration"


def test_unknown_endpoints_are_404_and_recorded(github: GitHubEmulator) -> None:
    http = session(BOT_TOKEN)
    refusal = call(http, "POST", f"{github.api_url}/repos/{REPO}/labels", models.BasicError, 404, json={"n": 1})
    assert refusal == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
    assert github.unknown_requests == [{"method": "POST", "path": f"/repos/{REPO}/labels", "query": "",
                                        "body": '{"n": 1}'}]
    assert github.api_requests() == [{"method": "POST", "path": f"/repos/{REPO}/labels", "status": 404}]


def test_pagination_links_like_github(github: GitHubEmulator) -> None:
    for n in range(34):
        github.add_issue_comment(REPO, 7, "octo-owner", f"comment {n}")
    url = f"{github.api_url}/repos/{REPO}/issues/7/comments"
    first = session(BOT_TOKEN).get(url)
    assert len(first.json()) == 30 and first.links["next"]["url"].endswith("page=2")
    assert len(session(BOT_TOKEN).get(first.links["next"]["url"]).json()) == 5
    assert len(list(pygithub(github).get_repo(REPO).get_issue(7).get_comments())) == 35


def test_faults_fail_then_recover(github: GitHubEmulator) -> None:
    http, url = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}/issues/7"
    github.faults.add("GET", r"/issues/7$", status=502, times=2)
    assert [http.get(url).status_code for _ in range(3)] == [502, 502, 200]

    github.faults.rate_limited("GET", r"/issues/7$", reset_in=30)
    limited = http.get(url)
    assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) >= time.time() + 25
    github.faults.secondary_rate_limited("*", r"/issues/", retry_after=3)
    assert http.get(url).headers["Retry-After"] == "3"

    github.faults.add("GET", r"/issues/7$", delay=0.3)
    started = time.monotonic()
    assert http.get(url).status_code == 200 and time.monotonic() - started >= 0.3
    assert [r["status"] for r in github.api_requests()] == [502, 502, 200, 403, 403, 200]


def test_pygithub_sees_faults_as_exceptions(github: GitHubEmulator) -> None:
    github.faults.add("POST", r"/issues/7/comments$", status=500)
    repo = pygithub(github).get_repo(REPO)
    with pytest.raises(GithubException) as failure:
        repo.get_issue(7).create_comment("hello")
    assert failure.value.status == 500
    assert [c["body"] for c in github.comments(REPO)] == ["Keep it short."]


# -- pull requests with reviews, review comments and forks --

WORD_COUNT = "def char_count(text):\n    return len(text)\n\n\ndef word_count(text):\n    return len(text.split())\n"


def open_pull(github: GitHubEmulator) -> int:
    """PR #8 from codeagent/issue-7, as an earlier run of the action left it: two commits on main."""
    github.push_commit(REPO, "codeagent/issue-7", {}, "codeagent: received #7", "github-actions[bot]")
    github.push_commit(REPO, "codeagent/issue-7", {"textstats/__init__.py": WORD_COUNT}, "Add word_count",
                       "github-actions[bot]")
    return github.create_pull(REPO, "Add word_count", "Closes #7", "codeagent/issue-7")["number"]


def test_review_comments_replies_and_reactions_match_githubs_schema(github: GitHubEmulator) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    seeded = github.add_review_comment(REPO, number, "octo-owner", "/code handle empty strings",
                                       path="textstats/__init__.py", line=6, author_association="OWNER")
    validate(models.PullRequestReviewComment, seeded)
    assert seeded["diff_hunk"].startswith("@@ -1,2 +1,6 @@") and seeded["diff_hunk"].endswith(
        "+    return len(text.split())")
    assert (seeded["line"], seeded["side"], seeded["position"], "in_reply_to_id" in seeded) == (6, "RIGHT", 6, False)
    [listed] = call(http, "GET", f"{api}/pulls/{number}/comments", list[models.PullRequestReviewComment])
    assert listed == call(http, "GET", f"{api}/pulls/comments/{seeded['id']}", models.PullRequestReviewComment)
    assert listed["commit_id"] == call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)["head"]["sha"]

    replies = f"{api}/pulls/{number}/comments/{seeded['id']}/replies"
    reply = call(http, "POST", replies, models.PullRequestReviewComment, 201, json={"body": "On it"})
    assert (reply["in_reply_to_id"], reply["path"], reply["line"], reply["diff_hunk"]) == \
        (seeded["id"], seeded["path"], 6, seeded["diff_hunk"])
    assert reply["pull_request_review_id"] != seeded["pull_request_review_id"]
    assert reply["user"]["login"] == "github-actions[bot]"
    # Replies go to a thread's first comment; GitHub answers 404 for a reply to a reply.
    call(http, "POST", f"{api}/pulls/{number}/comments/{reply['id']}/replies", models.BasicError, 404,
         json={"body": "nested"})
    call(http, "POST", f"{api}/pulls/7/comments/{seeded['id']}/replies", models.BasicError, 404, json={"body": "x"})
    call(http, "POST", f"{api}/pulls/{number}/comments/1/replies", models.BasicError, 404, json={"body": "x"})

    reactions = f"{api}/pulls/comments/{seeded['id']}/reactions"
    call(http, "POST", reactions, models.Reaction, 201, json={"content": "eyes"})
    call(http, "POST", reactions, models.Reaction, 200, json={"content": "eyes"})
    assert [r["content"] for r in call(http, "GET", reactions, list[models.Reaction])] == ["eyes"]
    assert call(http, "GET", f"{api}/pulls/comments/{seeded['id']}", models.PullRequestReviewComment)[
        "reactions"]["eyes"] == 1
    call(http, "PATCH", f"{api}/pulls/comments/{reply['id']}", models.PullRequestReviewComment,
         json={"body": "Done: handled empty strings"})

    new = call(http, "POST", f"{api}/pulls/{number}/comments", models.PullRequestReviewComment, 201,
               json={"body": "Nit", "path": "textstats/__init__.py", "line": 5, "commit_id": listed["commit_id"]})
    assert new["diff_hunk"].endswith("+def word_count(text):")
    refusal = call(http, "POST", f"{api}/pulls/{number}/comments", models.BasicError, 422,
                   json={"body": "Nit", "path": "README.md", "line": 1})
    assert "must be part of the diff" in refusal["errors"][0]
    call(http, "DELETE", f"{api}/pulls/comments/{new['id']}", None, 204)
    assert call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)["review_comments"] == 2

    assert github.review_comments(REPO) == [
        {"id": seeded["id"], "pull_number": number, "author": "octo-owner", "body": "/code handle empty strings",
         "path": "textstats/__init__.py", "line": 6, "in_reply_to": None, "review_id": seeded["pull_request_review_id"]},
        {"id": reply["id"], "pull_number": number, "author": "github-actions[bot]",
         "body": "Done: handled empty strings", "path": "textstats/__init__.py", "line": 6,
         "in_reply_to": seeded["id"], "review_id": reply["pull_request_review_id"]}]
    assert github.reactions(REPO) == [{"comment_id": seeded["id"], "issue_number": number, "content": "eyes",
                                       "author": "github-actions[bot]", "review_comment": True}]
    assert github.unknown_requests == []


def test_pygithub_replies_in_a_review_thread(github: GitHubEmulator) -> None:
    number = open_pull(github)
    seeded = github.add_review_comment(REPO, number, "octo-owner", "/code go", path="textstats/__init__.py", line=6)
    pull = pygithub(github).get_repo(REPO).get_pull(number)
    [comment] = pull.get_review_comments()
    assert (comment.id, comment.path, comment.line, comment.diff_hunk) == \
        (seeded["id"], "textstats/__init__.py", 6, seeded["diff_hunk"])
    comment.create_reaction("eyes")
    reply = pull.create_review_comment_reply(comment.id, "Working on it")
    reply.edit("Done")
    assert pull.get_review_comment(reply.id).in_reply_to_id == comment.id
    assert [(c["author"], c["body"]) for c in github.review_comments(REPO)] == [
        ("octo-owner", "/code go"), ("github-actions[bot]", "Done")]
    assert github.unknown_requests == []


def test_reviews_and_their_event_payloads_match_githubs_schema(github: GitHubEmulator) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    review = github.add_review(REPO, number, "octo-owner", "/code add a docstring", "changes_requested",
                               comments=[{"body": "here", "path": "textstats/__init__.py", "line": 5}],
                               author_association="OWNER")
    payload = {"action": "submitted", "review": review, "pull_request": github.pull_json(REPO, number, full=False),
               "repository": github.repo_json(REPO), "sender": github.user_json("octo-owner")}
    validate(models.WebhookPullRequestReviewSubmitted, payload)
    assert (review["state"], review["body"], review["author_association"]) == \
        ("changes_requested", "/code add a docstring", "OWNER")
    [listed] = call(http, "GET", f"{api}/pulls/{number}/reviews", list[models.PullRequestReview])
    assert (listed["id"], listed["state"], listed["user"]["login"]) == (review["id"], "CHANGES_REQUESTED", "octo-owner")
    assert call(http, "GET", f"{api}/pulls/{number}/reviews/{review['id']}", models.PullRequestReview) == listed
    [inline] = call(http, "GET", f"{api}/pulls/{number}/reviews/{review['id']}/comments", list[models.ReviewComment])
    assert (inline["path"], inline["line"], inline["pull_request_review_id"]) == \
        ("textstats/__init__.py", 5, review["id"])
    call(http, "GET", f"{api}/pulls/{number}/reviews/1", models.BasicError, 404)

    comment = github.add_review_comment(REPO, number, "octo-owner", "/code more", in_reply_to=inline["id"],
                                        author_association="OWNER")
    payload = {"action": "created", "comment": comment, "pull_request": github.pull_json(REPO, number, full=False),
               "repository": github.repo_json(REPO), "sender": github.user_json("octo-owner")}
    validate(models.WebhookPullRequestReviewCommentCreated, payload)
    assert (comment["in_reply_to_id"], comment["diff_hunk"]) == (inline["id"], inline["diff_hunk"])
    assert [r["state"] for r in github.reviews(REPO)] == ["CHANGES_REQUESTED", "COMMENTED"]


def test_a_pull_request_from_a_fork(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    github.create_fork(REPO, "forkful/textstats")
    sha = github.push_commit("forkful/textstats", "sentence-count", {"textstats/s.py": "X = 1\n"}, "Add s",
                             "forkful")
    number = github.create_pull(REPO, "Add s", "", "sentence-count", author="forkful",
                                head_repo="forkful/textstats")["number"]
    pull = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    head = pull["head"]
    assert (head["ref"], head["sha"], head["label"], head["repo"]["full_name"], head["repo"]["fork"]) == \
        ("sentence-count", sha, "forkful:sentence-count", "forkful/textstats", True)
    assert (pull["base"]["repo"]["full_name"], pull["base"]["repo"]["fork"], pull["changed_files"]) == \
        (REPO, False, 1)
    fork = call(http, "GET", f"{github.api_url}/repos/forkful/textstats", models.FullRepository)
    assert (fork["fork"], fork["parent"]["full_name"], fork["source"]["full_name"]) == (True, REPO, REPO)
    listed = call(http, "GET", f"{api}/pulls", list[models.PullRequestSimple],
                  params={"head": "forkful:sentence-count"})
    assert [p["number"] for p in listed] == [number]
    assert call(http, "GET", f"{api}/pulls", list, params={"head": "octo-org:sentence-count"}) == []
    comment = github.add_review_comment(REPO, number, "octo-owner", "/code", path="textstats/s.py", line=1)
    assert comment["commit_id"] == sha

    # The workflow token reads the fork (it is public) but may not push to it.
    checkout = tmp_path / "fork"
    git("-c", auth_header(BOT_TOKEN), "clone", "--quiet", "--branch=sentence-count",
        github.clone_url("forkful/textstats"), str(checkout))
    commit(checkout, {"b.txt": "b\n"}, "B")
    refused = git("-c", auth_header(BOT_TOKEN), "push", "origin", "sentence-count", cwd=checkout, check=False)
    assert refused.returncode != 0 and "denied to github-actions[bot]" in refused.stderr
    # Its commits are in the base repository as refs/pull/N/head, as on GitHub.
    fetched = clone(github, tmp_path / "base")
    git("-c", auth_header(BOT_TOKEN), "fetch", "--quiet", "origin", f"refs/pull/{number}/head", cwd=fetched)
    assert git("rev-parse", "FETCH_HEAD", cwd=fetched).stdout.strip() == sha
    assert github.pulls(REPO)[0]["head_repo"] == "forkful/textstats"


def test_pull_request_head_follows_pushes_merge_ref_and_closing(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    pushed = push_branch_again(github, tmp_path, "codeagent/issue-7", {"textstats/more.py": "Y = 2\n"})
    pull = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    assert (pull["head"]["sha"], pull["head"]["ref"], pull["commits"], pull["changed_files"]) == \
        (pushed, "codeagent/issue-7", 3, 2)
    merge = github.merge_ref(REPO, number)
    checkout = clone(github, tmp_path / "merge")
    git("-c", auth_header(BOT_TOKEN), "fetch", "--quiet", "--depth=1", "origin",
        f"+{merge}:refs/remotes/pull/{number}/merge", cwd=checkout)
    raw = git("cat-file", "-p", f"refs/remotes/pull/{number}/merge", cwd=checkout).stdout  # shallow: no ^2
    assert f"parent {pushed}" in raw.splitlines()

    github.close_pull(REPO, number, merged=True)
    merged = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    assert (merged["state"], merged["merged"], merged["merged_at"] is not None) == ("closed", True, True)
    assert github.branches(REPO)[0]["name"] == "codeagent/issue-7"
    reopen = call(http, "PATCH", f"{api}/pulls/{number}", models.ValidationError, 422, json={"state": "open"})
    assert "merged" in reopen["errors"][0]["message"]

    github.push_commit(REPO, "gone", {"g.txt": "g\n"}, "G", "octo-owner")
    gone = github.create_pull(REPO, "Gone", "", "gone", author="octo-owner")["number"]
    github.close_pull(REPO, gone)
    github.delete_branch(REPO, "gone")
    call(http, "PATCH", f"{api}/pulls/{gone}", models.ValidationError, 422, json={"state": "open"})
    assert [p["state"] for p in github.pulls(REPO)] == ["closed", "closed"]


def push_branch_again(github: GitHubEmulator, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    """Push one more commit on ``branch`` over git, as the action does."""
    checkout = clone(github, tmp_path / "again", BOT_TOKEN, f"--branch={branch}")
    commit(checkout, files, "More")
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", branch, cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
