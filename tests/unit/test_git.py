"""codeagent.git against real git: a bare "origin" and a checkout made the way actions/checkout makes it."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from codeagent.errors import GitError
from codeagent.git import Commit, Identity, Workspace
from bench.github.emulator import GitHubEmulator

TOKEN = "ghs_0123456789abcdefghijklmnopqrstuvwxyz"
SERVER = "https://github.com"
HEADER_KEY = "http.https://github.com/.extraheader"
TOKEN_HEADER = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
CHECKOUT_HEADER = "AUTHORIZATION: basic " + base64.b64encode(b"x-access-token:checkout").decode()
BOT = Identity("codeagent[bot]", "codeagent@users.noreply.example.com")
RUNNER_UID = 1001
BRANCH = "codeagent/issue-7"


def git(cwd: Path, *args: str) -> str:
    """Run git as a bystander would (not through the code under test); its stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.rstrip("\n")


def write(path: Path, text: str) -> None:
    """Write a file, making its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit_file(clone: Path, name: str, text: str, message: str) -> str:
    """Commit one file as a human contributor would; the new sha."""
    write(clone / name, text)
    git(clone, "add", name)
    git(clone, "-c", "user.name=Someone", "-c", "user.email=someone@example.com",
        "commit", "-q", "-m", message)
    return git(clone, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """A fresh HOME, so the global config (safe.directory) is this test's alone."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


@pytest.fixture
def origin(tmp_path) -> Path:
    """A bare repository with two commits on main, one of them adding a workflow."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    commit_file(seed, "README.md", "# demo\n", "first")
    write(seed / "app.py", "print('hello')\n")
    write(seed / "old_name.py", "x = 1\n")
    write(seed / "doomed.txt", "bye\n")
    write(seed / ".github/workflows/ci.yml", "on: push\n")
    git(seed, "add", ".")
    git(seed, "-c", "user.name=Someone", "-c", "user.email=someone@example.com",
        "commit", "-q", "-m", "second")
    git(seed, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def checkout(tmp_path, origin) -> Path:
    """The runner's checkout as actions/checkout leaves it: depth 1, main, its auth header."""
    path = tmp_path / "workspace"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "remote", "add", "origin", str(origin))
    git(path, "config", "--local", HEADER_KEY, CHECKOUT_HEADER)
    git(path, "fetch", "-q", "--no-tags", "--depth=1", "origin",
        "+refs/heads/main:refs/remotes/origin/main")
    git(path, "checkout", "-q", "--force", "-B", "main", "refs/remotes/origin/main")
    return path


@pytest.fixture
def workspace(checkout) -> Workspace:
    """The action's view of the checkout, trusted."""
    ws = Workspace(checkout, server_url=SERVER, token=TOKEN, identity=BOT)
    ws.trust()
    return ws


@pytest.fixture
def other_clone(tmp_path, origin) -> Path:
    """A full clone of origin where someone else works."""
    path = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(path))
    return path


def remote_sha(origin: Path, branch: str) -> str:
    """The sha of `branch` on the bare origin."""
    return git(origin, "rev-parse", f"refs/heads/{branch}")


def test_trust_lets_root_use_a_checkout_owned_by_the_runner_user(checkout, isolated_home):
    subprocess.run(["chown", "-R", f"{RUNNER_UID}:{RUNNER_UID}", str(checkout)], check=True)
    refused = subprocess.run(["git", "status"], cwd=checkout, capture_output=True, text=True)
    assert refused.returncode != 0 and "dubious ownership" in refused.stderr

    ws = Workspace(checkout, server_url=SERVER, token=TOKEN, identity=BOT)
    ws.trust()
    ws.trust()

    git(checkout, "status")
    assert ws.current_branch() == "main"
    assert git(isolated_home, "config", "--global", "--get-all", "safe.directory") == str(checkout)


def test_untrusted_checkout_fails_with_a_hint(checkout):
    subprocess.run(["chown", "-R", f"{RUNNER_UID}:{RUNNER_UID}", str(checkout)], check=True)
    ws = Workspace(checkout, server_url=SERVER, token=TOKEN, identity=BOT)
    with pytest.raises(GitError, match="trust"):
        ws.head_sha()


def test_a_directory_that_is_no_checkout_says_to_run_actions_checkout(tmp_path):
    ws = Workspace(tmp_path, server_url=SERVER, token=TOKEN, identity=BOT)
    with pytest.raises(GitError, match="actions/checkout"):
        ws.head_sha()


def test_authenticated_replaces_the_checkout_header_and_restores_it(workspace, checkout):
    with workspace.authenticated():
        during = git(checkout, "config", "--local", "--get-all", HEADER_KEY).splitlines()
    assert during == [TOKEN_HEADER]
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_authenticated_restores_the_checkout_header_after_an_exception(workspace, checkout):
    with pytest.raises(RuntimeError), workspace.authenticated():
        raise RuntimeError("boom")
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_authenticated_leaves_no_header_when_the_checkout_had_none(workspace, checkout):
    git(checkout, "config", "--local", "--unset-all", HEADER_KEY)
    with workspace.authenticated():
        assert TOKEN not in git(checkout, "config", "--local", "--get-all", HEADER_KEY)
    missing = subprocess.run(["git", "config", "--local", "--get-all", HEADER_KEY], cwd=checkout)
    assert missing.returncode == 1


def test_authenticated_is_reentrant(workspace, checkout):
    with workspace.authenticated(), workspace.authenticated():
        pass
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_authenticated_sets_aside_every_other_extra_header(workspace, checkout):
    git(checkout, "config", "--local", "--add", "http.extraheader", "X-Other: 1")
    with workspace.authenticated():
        headers = git(checkout, "config", "--local", "--get-regexp", "extraheader").splitlines()
    assert len(headers) == 1 and headers[0].startswith(f"{HEADER_KEY} AUTHORIZATION: basic ")
    assert git(checkout, "config", "--local", "--get-regexp", "extraheader").splitlines() == [
        f"{HEADER_KEY} {CHECKOUT_HEADER}", "http.extraheader X-Other: 1"]


def test_without_credentials_hides_the_checkout_token_from_the_agent(workspace, checkout):
    config = checkout / ".git" / "config"
    before = config.read_bytes()
    with workspace.without_credentials():
        assert "AUTHORIZATION" not in config.read_text()
        git(checkout, "config", "http.sslVerify", "false")  # the agent, up to no good
    assert config.read_bytes() == before
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_without_credentials_puts_the_config_back_after_an_exception(workspace, checkout):
    config = checkout / ".git" / "config"
    before = config.read_bytes()
    with pytest.raises(RuntimeError), workspace.without_credentials():
        config.unlink()
        config.symlink_to(checkout / "elsewhere")
        raise RuntimeError("the agent crashed")
    assert config.read_bytes() == before and not config.is_symlink()
    assert not (checkout / "elsewhere").exists()


def test_start_branch_on_a_shallow_checkout(workspace, checkout, origin):
    assert git(checkout, "rev-parse", "--is-shallow-repository") == "true"
    workspace.start_branch(BRANCH, "main")
    assert workspace.current_branch() == BRANCH
    assert workspace.head_sha() == remote_sha(origin, "main")


def test_start_branch_from_a_sha_and_from_a_branch_only_on_origin(workspace, other_clone, origin):
    git(other_clone, "checkout", "-q", "-b", "develop")
    develop = commit_file(other_clone, "dev.txt", "dev\n", "dev work")
    git(other_clone, "push", "-q", "origin", "develop")

    workspace.start_branch("from-branch", "develop")
    assert workspace.head_sha() == develop
    workspace.start_branch("from-sha", remote_sha(origin, "main"))
    assert workspace.head_sha() == remote_sha(origin, "main")


def test_start_branch_from_nothing_known_says_so(workspace):
    with pytest.raises(GitError, match="no-such-branch"):
        workspace.start_branch(BRANCH, "no-such-branch")


def test_start_branch_carries_uncommitted_changes_along(workspace, checkout):
    write(checkout / "app.py", "print('edited by an earlier step')\n")
    workspace.start_branch(BRANCH, "main")
    assert (checkout / "app.py").read_text() == "print('edited by an earlier step')\n"


def test_fetch_branch(workspace, other_clone, checkout):
    assert not workspace.fetch_branch(BRANCH)
    git(other_clone, "checkout", "-q", "-b", BRANCH)
    theirs = commit_file(other_clone, "notes.txt", "notes\n", "earlier run")
    git(other_clone, "push", "-q", "origin", BRANCH)

    assert workspace.fetch_branch(BRANCH)
    assert git(checkout, "rev-parse", f"refs/remotes/origin/{BRANCH}") == theirs
    workspace.start_branch(BRANCH, BRANCH)
    assert workspace.head_sha() == theirs


def test_commit_empty_is_by_the_identity_and_keeps_staged_changes_out(workspace, checkout):
    workspace.start_branch(BRANCH, "main")
    write(checkout / "staged.txt", "from an earlier step\n")
    git(checkout, "add", "staged.txt")
    parent = workspace.head_sha()

    sha = workspace.commit_empty("codeagent: received #7, preparing to implement")

    assert sha == workspace.head_sha() == git(checkout, "rev-parse", BRANCH)
    who = git(checkout, "log", "-1", "--format=%an|%ae|%cn|%ce|%s|%P", sha)
    assert who == f"{BOT.name}|{BOT.email}|{BOT.name}|{BOT.email}|" \
                  f"codeagent: received #7, preparing to implement|{parent}"
    assert git(checkout, "rev-parse", f"{sha}^{{tree}}") == git(checkout, "rev-parse", f"{parent}^{{tree}}")
    assert git(checkout, "diff", "--cached", "--name-only") == "staged.txt"


def test_commit_all_takes_new_modified_deleted_and_renamed_files(workspace, checkout):
    workspace.start_branch(BRANCH, "main")
    write(checkout / ".gitignore", "build/\n")
    write(checkout / "build" / "out.bin", "ignored\n")
    write(checkout / "pkg" / "new.py", "y = 2\n")
    write(checkout / "app.py", "print('changed')\n")
    (checkout / "doomed.txt").unlink()
    (checkout / "old_name.py").rename(checkout / "new_name.py")

    commit = workspace.commit_all("codeagent: implement #7")

    assert commit == Commit(workspace.head_sha(), (".gitignore", "app.py", "doomed.txt",
                                                   "new_name.py", "old_name.py", "pkg/new.py"), ())
    assert git(checkout, "show", "--format=", "--name-status", "-M", commit.sha).splitlines() == [
        "A\t.gitignore", "M\tapp.py", "D\tdoomed.txt", "R100\told_name.py\tnew_name.py",
        "A\tpkg/new.py"]
    assert git(checkout, "log", "-1", "--format=%an|%cn") == f"{BOT.name}|{BOT.name}"
    assert git(checkout, "status", "--porcelain") == ""
    assert (checkout / "build" / "out.bin").exists()


def test_commit_all_leaves_workflow_changes_out_and_in_the_working_tree(workspace, checkout):
    workspace.start_branch(BRANCH, "main")
    write(checkout / ".github/workflows/ci.yml", "on: pull_request\n")
    write(checkout / ".github/workflows/new.yml", "on: issues\n")
    write(checkout / ".github/dependabot.yml", "version: 2\n")
    write(checkout / "app.py", "print('changed')\n")
    git(checkout, "add", ".github/workflows/ci.yml")  # the agent staged it: still left out

    commit = workspace.commit_all("codeagent: implement #7")

    assert commit.files == (".github/dependabot.yml", "app.py")
    assert commit.left_out == (".github/workflows/ci.yml", ".github/workflows/new.yml")
    assert git(checkout, "show", f"{commit.sha}:.github/workflows/ci.yml") == "on: push"
    assert (checkout / ".github/workflows/ci.yml").read_text() == "on: pull_request\n"
    assert (checkout / ".github/workflows/new.yml").read_text() == "on: issues\n"
    assert git(checkout, "status", "--porcelain").splitlines() == [
        " M .github/workflows/ci.yml", "?? .github/workflows/new.yml"]


def test_commit_all_with_nothing_to_commit_returns_none(workspace, checkout):
    workspace.start_branch(BRANCH, "main")
    head = workspace.head_sha()
    assert workspace.commit_all("nothing") is None
    write(checkout / ".github/workflows/ci.yml", "on: pull_request\n")
    assert workspace.commit_all("only a workflow") is None
    assert workspace.head_sha() == head
    assert (checkout / ".github/workflows/ci.yml").read_text() == "on: pull_request\n"


def test_push_puts_our_commits_on_origin(workspace, checkout, origin):
    workspace.start_branch(BRANCH, "main")
    workspace.commit_empty("codeagent: received #7")
    workspace.push(BRANCH)
    write(checkout / "app.py", "print('implemented')\n")
    commit = workspace.commit_all("codeagent: implement #7")
    workspace.push(BRANCH)

    assert remote_sha(origin, BRANCH) == commit.sha
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_push_after_the_branch_moved_builds_on_their_commits(workspace, checkout, origin,
                                                              other_clone):
    workspace.start_branch(BRANCH, "main")
    workspace.commit_empty("codeagent: received #7")
    workspace.push(BRANCH)
    git(other_clone, "fetch", "-q", "origin")
    git(other_clone, "checkout", "-q", BRANCH)
    theirs = commit_file(other_clone, "README.md", "# demo, by a human\n", "human edit")
    git(other_clone, "push", "-q", "origin", BRANCH)
    write(checkout / "app.py", "print('implemented')\n")
    write(checkout / ".github/workflows/ci.yml", "on: pull_request\n")  # left out, dirty
    workspace.commit_all("codeagent: implement #7")

    workspace.push(BRANCH)

    tip = remote_sha(origin, BRANCH)
    assert tip == workspace.head_sha()
    assert git(origin, "rev-parse", f"{tip}^") == theirs
    assert git(origin, "log", "-1", "--format=%s|%an|%cn", tip) == \
        f"codeagent: implement #7|{BOT.name}|{BOT.name}"
    assert git(origin, "show", f"{tip}:README.md") == "# demo, by a human"
    assert git(origin, "show", f"{tip}:app.py") == "print('implemented')"
    assert (checkout / ".github/workflows/ci.yml").read_text() == "on: pull_request\n"


def test_push_merges_when_the_rebase_conflicts_but_the_result_does_not(
        workspace, checkout, origin, other_clone):
    workspace.start_branch(BRANCH, "main")
    workspace.push(BRANCH)
    write(checkout / "app.py", "print('draft')\n")
    workspace.commit_all("try")
    write(checkout / "app.py", "print('hello')\n")
    workspace.commit_all("undo")
    git(other_clone, "fetch", "-q", "origin")
    git(other_clone, "checkout", "-q", BRANCH)
    theirs = commit_file(other_clone, "app.py", "print('theirs')\n", "human edit")
    git(other_clone, "push", "-q", "origin", BRANCH)

    workspace.push(BRANCH)

    tip = remote_sha(origin, BRANCH)
    assert git(origin, "log", "-1", "--format=%P", tip).split()[1] == theirs
    assert git(origin, "show", f"{tip}:app.py") == "print('theirs')"


def test_push_with_conflicting_commits_fails_clearly_and_overwrites_nothing(
        workspace, checkout, origin, other_clone):
    workspace.start_branch(BRANCH, "main")
    workspace.push(BRANCH)
    git(other_clone, "fetch", "-q", "origin")
    git(other_clone, "checkout", "-q", BRANCH)
    theirs = commit_file(other_clone, "app.py", "print('theirs')\n", "human edit")
    git(other_clone, "push", "-q", "origin", BRANCH)
    write(checkout / "app.py", "print('ours')\n")
    ours = workspace.commit_all("codeagent: implement #7")

    with pytest.raises(GitError, match="conflict") as failure:
        workspace.push(BRANCH)

    side = f"{BRANCH}-conflict-{ours.sha[:8]}"
    assert side in str(failure.value)
    assert remote_sha(origin, BRANCH) == theirs  # theirs untouched
    assert remote_sha(origin, side) == ours.sha  # ours kept on a branch of its own
    assert workspace.head_sha() == ours.sha
    assert git(checkout, "status", "--porcelain") == ""


def test_dirty_paths_lists_changed_and_new_files_but_not_ignored_ones(workspace, checkout):
    assert workspace.dirty_paths() == []
    write(checkout / ".gitignore", "build/\n")
    write(checkout / "build" / "x.o", "x")
    write(checkout / "app.py", "print('changed by an earlier step')\n")
    assert workspace.dirty_paths() == [".gitignore", "app.py"]


def test_a_remote_branch_is_deleted(workspace, origin):
    workspace.start_branch(BRANCH, "main")
    workspace.push(BRANCH)
    workspace.delete_remote_branch(BRANCH)
    assert git(origin, "branch", "--list", BRANCH) == ""


@pytest.mark.parametrize("refusal, advice", [
    (f"Permission to o/r.git denied to bot (token {TOKEN})", "contents: write"),
    ("refusing to allow a GitHub App to create or update workflow `.github/workflows/a.yml` "
     "without `workflows` permission", "cannot push changes under .github/workflows/"),
], ids=["no-contents-permission", "workflow-file"])
def test_a_refused_push_explains_itself_without_the_token(workspace, checkout, origin, refusal,
                                                          advice):
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{refusal}' >&2\nexit 1\n")
    hook.chmod(0o755)
    workspace.start_branch(BRANCH, "main")
    workspace.commit_empty("codeagent: received #7")

    with pytest.raises(GitError, match=advice) as failure:
        workspace.push(BRANCH)

    assert TOKEN not in str(failure.value)
    assert git(checkout, "config", "--local", "--get-all", HEADER_KEY) == CHECKOUT_HEADER


def test_no_hook_in_the_checkout_runs(workspace, checkout, tmp_path):
    marker = tmp_path / "hook-ran"
    for name in ("pre-commit", "post-checkout", "pre-push", "post-commit"):
        hook = checkout / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
        hook.chmod(0o755)
    workspace.start_branch(BRANCH, "main")
    write(checkout / "app.py", "print('changed')\n")
    workspace.commit_all("codeagent: implement #7")
    workspace.push(BRANCH)
    assert not marker.exists()


def test_restore_ownership_gives_roots_files_back(checkout):
    subprocess.run(["chown", "-R", f"{RUNNER_UID}:{RUNNER_UID}", str(checkout)], check=True)
    ws = Workspace(checkout, server_url=SERVER, token=TOKEN, identity=BOT)
    ws.trust()
    ws.start_branch(BRANCH, "main")
    write(checkout / "src" / "made_by_root.py", "z = 3\n")
    ws.commit_all("codeagent: implement #7")
    os.symlink("/etc/passwd", checkout / "link")  # lchown'd, never followed

    assert ws.owner() == (RUNNER_UID, RUNNER_UID)
    ws.restore_ownership(*ws.owner())

    owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [checkout, *checkout.rglob("*")]}
    assert owners == {(RUNNER_UID, RUNNER_UID)}
    assert os.stat("/etc/passwd").st_uid == 0


class SmartHttp(BaseHTTPRequestHandler):
    """git's smart HTTP through `git http-backend`, for callers with exactly one right token."""

    root: Path
    authorization = TOKEN_HEADER.removeprefix("AUTHORIZATION: ")

    def do_GET(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def serve(self) -> None:
        """401 unless the request carries one Authorization header, ours; else the CGI's reply."""
        if self.headers.get_all("Authorization") != [self.authorization]:
            self.send_response(401)
            self.end_headers()
            return
        status, headers, body = self.backend()
        self.send_response(status)
        for line in headers:
            name, _, value = line.partition(":")
            self.send_header(name, value.strip())
        self.end_headers()
        self.wfile.write(body)

    def backend(self) -> tuple[int, list[str], bytes]:
        """Run `git http-backend` for this request: status, header lines, body."""
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {**os.environ, "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": self.headers.get("Content-Type") or "", "REMOTE_USER": "bot",
               "CONTENT_LENGTH": str(len(body)), "HTTP_CONTENT_ENCODING":
               self.headers.get("Content-Encoding") or "", "GIT_PROTOCOL":
               self.headers.get("Git-Protocol") or ""}
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode().splitlines()
        status = next((int(line.split()[1]) for line in lines if line.startswith("Status:")), 200)
        return status, [line for line in lines if not line.startswith("Status:")], body

    def log_message(self, *args) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def http_server_url(origin) -> str:
    """A git server on localhost serving origin, like github.com: one token, sent as a header."""
    SmartHttp.root = origin.parent
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmartHttp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def http_workspace(checkout: Path, server_url: str, token: str, url: str = "") -> Workspace:
    """The checkout with origin over HTTP and actions/checkout's own header for that server."""
    git(checkout, "remote", "set-url", "origin", url or f"{server_url}/origin.git")
    git(checkout, "config", "--local", f"http.{server_url}/.extraheader", CHECKOUT_HEADER)
    ws = Workspace(checkout, server_url=server_url, token=token, identity=BOT)
    ws.trust()
    return ws


def test_push_over_http_sends_the_token_once(checkout, origin, http_server_url):
    workspace = http_workspace(checkout, http_server_url, TOKEN)
    workspace.start_branch(BRANCH, "main")
    sha = workspace.commit_empty("codeagent: received #7")

    assert not workspace.fetch_branch(BRANCH)  # over HTTP, with the token once
    workspace.push(BRANCH)
    assert workspace.fetch_branch(BRANCH)

    assert remote_sha(origin, BRANCH) == sha
    key = f"http.{http_server_url}/.extraheader"
    assert git(checkout, "config", "--local", "--get-all", key) == CHECKOUT_HEADER


def test_push_over_http_with_a_refused_token_explains_without_showing_it(
        checkout, http_server_url):
    workspace = http_workspace(checkout, http_server_url, "ghs_not_the_right_one")
    workspace.start_branch(BRANCH, "main")
    workspace.commit_empty("codeagent: received #7")

    with pytest.raises(GitError, match="GITHUB_TOKEN") as failure:
        workspace.push(BRANCH)

    assert "ghs_not_the_right_one" not in str(failure.value)


def test_push_through_the_github_emulator_with_the_workflow_token(tmp_path):
    write(tmp_path / "files" / "app.py", "print('hello')\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(TOKEN, "github-actions[bot]", type="Bot")
        github.create_repo("octo-org/demo", tmp_path / "files")
        url, ci = github.clone_url("octo-org/demo"), tmp_path / "ci"
        git(tmp_path, "clone", "-q", "--depth=1", "-c", f"http.extraheader={TOKEN_HEADER}", url, str(ci))
        workspace = http_workspace(ci, github.server_url, TOKEN, url)
        workspace.start_branch(BRANCH, "main")
        first = workspace.commit_empty("codeagent: received #7")
        workspace.push(BRANCH)
        write(ci / "app.py", "print('implemented')\n")
        write(ci / ".github/workflows/ci.yml", "on: push\n")
        commit = workspace.commit_all("codeagent: implement #7")
        workspace.push(BRANCH)
        branch = next(b for b in github.branches("octo-org/demo") if b["name"] == BRANCH)

    assert [(c["sha"], c["author"], c["files"]) for c in branch["commits"]] == [
        (first, f"{BOT.name} <{BOT.email}>", []),
        (commit.sha, f"{BOT.name} <{BOT.email}>", ["app.py"])]
    assert commit.left_out == (".github/workflows/ci.yml",)


def test_commit_all_leaves_out_untracked_build_litter(workspace, checkout):
    """__pycache__, .pytest_cache, node_modules the agent's runs left are not committed,
    even though this repository's .gitignore lists none of them."""
    workspace.start_branch(BRANCH, "main")
    (checkout / "pkg").mkdir()
    (checkout / "pkg" / "mod.py").write_text("x = 1\n")
    (checkout / "pkg" / "__pycache__").mkdir()
    (checkout / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (checkout / ".pytest_cache").mkdir()
    (checkout / ".pytest_cache" / "README.md").write_text("cache")
    (checkout / "node_modules").mkdir()
    (checkout / "node_modules" / "x.js").write_text("x")
    (checkout / "pkg" / "mod.py.tmp.17.c41e2ed9d4ae").write_text("half-written by a stopped agent")
    commit = workspace.commit_all("add mod")
    assert commit is not None and commit.files == ("pkg/mod.py",)


def test_a_note_is_pushed_and_read_back_from_a_later_commit(workspace, checkout, tmp_path):
    ref = "refs/notes/codeagent/codeagent/issue-7"
    workspace.start_branch(BRANCH, "main")
    assert workspace.read_note(ref) is None  # origin has no such ref yet

    workspace.write_note(ref, "kept session")
    write(checkout / "later.txt", "more\n")
    workspace.commit_all("later work")  # the note is on the parent now

    assert workspace.read_note(ref) == "kept session"
    assert git(checkout, "ls-remote", "origin", ref) != ""
