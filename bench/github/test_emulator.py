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

from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe

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
        assert not emulator.spec_violations, describe(emulator.spec_violations)


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


def test_pull_request_files_are_listed_as_github_lists_them(github: GitHubEmulator, tmp_path: Path) -> None:
    """Added, removed, modified and renamed (with the old name), whatever characters a name holds."""
    checkout = clone(github, tmp_path / "checkout")
    git("switch", "--quiet", "-c", "tidy", cwd=checkout)
    git("mv", "README.md", "GUIDE.md", cwd=checkout)
    git("rm", "--quiet", "textstats/__init__.py", cwd=checkout)
    commit(checkout, {"notes/odd`name.md": "x\n", "notes/tab\there.md": "y\n"}, "Tidy")
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", "tidy", cwd=checkout)
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    call(http, "POST", f"{api}/pulls", models.PullRequest, 201, json={"title": "Tidy", "head": "tidy", "base": "main"})

    files = call(http, "GET", f"{api}/pulls/8/files", list[models.DiffEntry])

    assert [(f["filename"], f["status"], f.get("previous_filename")) for f in files] == [
        ("GUIDE.md", "renamed", "README.md"), ("notes/odd`name.md", "added", None),
        ("notes/tab\there.md", "added", None), ("textstats/__init__.py", "removed", None)]
    assert [(f["additions"], f["deletions"]) for f in files] == [(0, 0), (1, 0), (1, 0), (0, 2)]
    assert all(len(f["sha"]) == 40 for f in files)


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
        "query": "mutation Ready($input: MarkPullRequestReadyForReviewInput!) {"
                 " markPullRequestReadyForReview(input: $input) { pullRequest { isDraft } } }",
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


def test_git_refuses_two_authorization_headers_as_github_does(github: GitHubEmulator, tmp_path: Path) -> None:
    """actions/checkout v6 keeps its header in an included file: a second one set by hand is sent too."""
    checkout = clone(github, tmp_path / "checkout")
    commit(checkout, {"b.txt": "b\n"}, "B")
    refused = git("-c", auth_header(BOT_TOKEN), "-c", auth_header(BOT_TOKEN), "push", "origin",
                  "HEAD:refs/heads/twice", cwd=checkout, check=False)
    assert refused.returncode != 0 and 'Duplicate header: "Authorization"' in refused.stderr
    assert "error: 400" in refused.stderr
    assert [b["name"] for b in github.branches(REPO)] == ["main"]


def test_force_pushes_of_branches_are_reported_and_nothing_else(github: GitHubEmulator, tmp_path: Path) -> None:
    checkout = clone(github, tmp_path / "checkout")
    push = lambda *args: git("-c", auth_header(BOT_TOKEN), "push", "--quiet", *args, cwd=checkout)  # noqa: E731
    commit(checkout, {"a.txt": "a\n"}, "A")
    push("origin", "HEAD:refs/heads/work", "HEAD:refs/codeagent/locks/work")
    first = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    commit(checkout, {"b.txt": "b\n"}, "B")
    push("origin", "HEAD:refs/heads/work")  # a fast-forward
    push("origin", "+HEAD~1:refs/codeagent/locks/work", "+HEAD:refs/notes/x")  # not branches
    assert github.forced_pushes(REPO) == []

    push("origin", f"+{first}:refs/heads/work")  # back to A: B is gone
    push("origin", ":refs/heads/work")  # a deletion is no force-push
    [forced] = github.forced_pushes(REPO)
    assert forced.startswith(f"{REPO} refs/heads/work ") and forced.endswith(f"..{first[:12]}")


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
    refusal = call(http, "POST", f"{github.api_url}/repos/{REPO}/labels", models.BasicError, 404,
                   json={"name": "bug"})
    assert refusal == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
    assert github.unknown_requests == [{"method": "POST", "path": f"/repos/{REPO}/labels", "query": "",
                                        "body": '{"name": "bug"}'}]
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



def test_the_descriptions_are_loaded_before_the_first_request_is_served(tmp_path: Path, monkeypatch):
    """Loading GitHub's GraphQL schema takes about a second: a first request must not wait for it, or
    the bench's overhead figures would count the emulator's start as the action's time."""
    from bench.github.spec import conformance

    monkeypatch.setattr(conformance, "_loaded", {})
    with GitHubEmulator(tmp_path / "github"):
        assert {"rest", "graphql"} <= set(conformance._loaded)


def test_a_seeded_repository_is_packed_with_a_bitmap_as_github_keeps_it(github):
    """A fetch from loose objects compresses each one again: the bench's figures for a large repository
    would count the emulator's work (1.6 s for 50,000 files, against 0.2 s from a pack)."""
    bare = github.root / "octo-org" / "textstats.git"
    counts = dict(line.split(": ") for line in subprocess.run(
        ["git", f"--git-dir={bare}", "count-objects", "-v"], check=True, capture_output=True, text=True
    ).stdout.splitlines())
    assert counts["count"] == "0" and int(counts["in-pack"]) >= 5
    assert list((bare / "objects" / "pack").glob("*.bitmap"))


def test_answers_are_not_held_back_by_nagles_algorithm():
    """Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the client's
    delayed ACK (40 ms an answer, measured: 44 ms a PyGithub call against 2 ms), time the bench would count
    as the action's. GitHub's servers and the model APIs add no such wait."""
    from bench.github.emulator import _Handler as GitHubHandler
    from bench.model.server import _Handler as ModelHandler

    assert GitHubHandler.disable_nagle_algorithm and ModelHandler.disable_nagle_algorithm
