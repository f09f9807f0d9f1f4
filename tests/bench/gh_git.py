"""The git side of the GitHub emulator: bare repositories and smart HTTP via `git http-backend`.

Branches, commits and pushes are real git; the REST API reads them from here.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
INITIAL_DATE = "2024-01-01T00:00:00Z"
"""A fixed date for the initial commit, so the same files always give the same sha."""

REPO_CONFIG = {
    "http.receivepack": "true",
    # What github.com allows: fetch by sha (actions/checkout does) and partial clone.
    "uploadpack.allowAnySHA1InWant": "true",
    "uploadpack.allowFilter": "true",
}

# GitHub refuses workflow changes pushed with a token that lacks the `workflows`
# permission, which the workflow token (GITHUB_TOKEN) never has.
WORKFLOWS_HOOK = r"""#!/bin/sh
[ "$EMULATOR_PUSHER_TYPE" = Bot ] || exit 0
while read old new ref; do
  [ "$new" = 0000000000000000000000000000000000000000 ] && continue
  file=$(git log --format= --name-only "$new" --not --branches --tags | grep '^\.github/workflows/' | head -n 1)
  if [ -n "$file" ]; then
    echo "refusing to allow a GitHub App to create or update workflow \`$file\` without \`workflows\` permission" >&2
    exit 1
  fi
done
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for git: none of this machine's git configuration."""
    return {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", **(extra or {})}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git on the bare repository ``repo`` and return its output."""
    return subprocess.run(["git", f"--git-dir={repo}", *args], check=True, capture_output=True,
                          text=True, env=_env(env)).stdout


def init_bare(path: Path, files: Path, branch: str, author: tuple[str, str]) -> None:
    """A bare repository with one "Initial commit" of ``files`` on ``branch``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "--bare", "--quiet", f"--initial-branch={branch}", str(path)],
                   check=True, capture_output=True, env=_env())
    for key, value in REPO_CONFIG.items():
        git(path, "config", key, value)
    hook = path / "hooks" / "pre-receive"
    hook.write_text(WORKFLOWS_HOOK)
    hook.chmod(0o755)
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(path, f"--work-tree={files}", "add", "--all", ".", env=index)
        tree = git(path, "write-tree", env=index).strip()
    name, email = author
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", name), ("EMAIL", email), ("DATE", INITIAL_DATE))}
    commit = git(path, "commit-tree", tree, "-m", "Initial commit", env=identity).strip()
    git(path, "update-ref", f"refs/heads/{branch}", commit)


def branch_tips(repo: Path) -> dict[str, str]:
    """Every branch and the sha it points at."""
    lines = git(repo, "for-each-ref", "--format=%(objectname) %(refname:lstrip=2)", "refs/heads").splitlines()
    return {name: sha for sha, name in (line.split(" ", 1) for line in lines)}


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author: tuple[str, str, str]
    """name, email, date (UTC, as GitHub writes it)"""
    committer: tuple[str, str, str]
    message: str


def commit_info(repo: Path, sha: str) -> CommitInfo:
    fields = "%H%x00%T%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B"
    out = git(repo, "log", "-1", f"--format={fields}", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", sha,
              env={"TZ": "UTC"})
    sha, tree, parents, *people, message = out.split("\0")
    return CommitInfo(sha, tree, parents.split(), tuple(people[:3]), tuple(people[3:]), message.rstrip("\n"))


def commits_between(repo: Path, base: str | None, head: str) -> list[str]:
    """Commits reachable from ``head`` but not from ``base`` (if any), oldest first."""
    return git(repo, "rev-list", "--reverse", head, *(["--not", base] if base else [])).split()


def files_changed(repo: Path, sha: str) -> list[str]:
    return git(repo, "-c", "core.quotePath=false", "diff-tree", "--no-commit-id", "--name-only",
               "-r", "--root", sha).splitlines()


def diff_stats(repo: Path, base: str, head: str) -> tuple[int, int, int]:
    """Additions, deletions and changed files of ``head`` against its merge base with ``base``."""
    rows = [line.split("\t") for line in git(repo, "diff", "--numstat", f"{base}...{head}").splitlines()]
    numbers = [(int(added), int(deleted)) for added, deleted, _ in rows if added != "-"]  # "-": binary
    return sum(a for a, _ in numbers), sum(d for _, d in numbers), len(rows)


def delete_branch(repo: Path, name: str) -> None:
    git(repo, "update-ref", "-d", f"refs/heads/{name}")


@dataclass(frozen=True)
class CgiRequest:
    method: str
    path_info: str
    query: str
    body: bytes
    content_type: str
    content_encoding: str
    git_protocol: str
    remote_user: str
    pusher_type: str


def http_backend(root: Path, request: CgiRequest) -> tuple[int, list[tuple[str, str]], bytes]:
    """Serve one smart HTTP request with `git http-backend` as CGI: status, headers, body."""
    env = _env({
        "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path_info, "QUERY_STRING": request.query, "CONTENT_TYPE": request.content_type,
        "CONTENT_LENGTH": str(len(request.body)), "REMOTE_USER": request.remote_user,
        "REMOTE_ADDR": "127.0.0.1", "EMULATOR_PUSHER_TYPE": request.pusher_type,
    })
    if request.content_encoding:
        env["HTTP_CONTENT_ENCODING"] = request.content_encoding
    if request.git_protocol:
        env["GIT_PROTOCOL"] = request.git_protocol
    done = subprocess.run(["git", "http-backend"], input=request.body, capture_output=True, env=env)
    return parse_cgi_output(done.stdout)


def parse_cgi_output(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split CGI output into status (from ``Status:``, else 200), headers and body."""
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := output.find(sep)) >= 0]
    if not ends:
        return 502, [], output
    end, sep_len = min(ends)
    status, headers = 200, []
    for line in output[:end].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, output[end + sep_len:]
