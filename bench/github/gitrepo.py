"""The git side of the GitHub emulator: bare repositories and smart HTTP via `git http-backend`.

Branches, commits and pushes are real git; the REST API reads them from here.
"""

from __future__ import annotations

import dataclasses
import functools

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
"""The empty file's blob id (sha1)."""
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

# Every ref a push updates, appended to pushes.log, for the report's `forced_pushes`: a branch
# moved to a commit that does not contain where it was is a force-push.
PUSH_LOG_HOOK = r"""#!/bin/sh
cat >> "${GIT_DIR:-.}/pushes.log"
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for git: none of this machine's git configuration."""
    return {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", **(extra or {})}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git on the bare repository ``repo`` and return its output."""
    return subprocess.run(["git", f"--git-dir={repo}", *args], check=True, capture_output=True,
                          text=True, env=_env(env)).stdout


def init_bare(path: Path, files: Path, branch: str, author: tuple[str, str],
              gitlinks: dict[str, str] | None = None) -> None:
    """A bare repository with one "Initial commit" of ``files`` (and submodule pointers ``gitlinks``,
    path -> sha) on ``branch``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "--bare", "--quiet", f"--initial-branch={branch}", str(path)],
                   check=True, capture_output=True, env=_env())
    _configure(path)
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(path, f"--work-tree={files}", "add", "--all", ".", env=index)
        for link, sha in (gitlinks or {}).items():
            git(path, "update-index", "--add", "--cacheinfo", f"160000,{sha},{link}", env=index)
        tree = git(path, "write-tree", env=index).strip()
    name, email = author
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", name), ("EMAIL", email), ("DATE", INITIAL_DATE))}
    commit = git(path, "commit-tree", tree, "-m", "Initial commit", env=identity).strip()
    git(path, "update-ref", f"refs/heads/{branch}", commit)
    # Packed, with a reachability bitmap, as GitHub keeps a repository: a fetch from loose objects
    # compresses each one again (50,000 files: 1.6 s a fetch, against 0.2 s from the pack).
    git(path, "repack", "-a", "-d", "-q", "--write-bitmap-index")


def _configure(path: Path) -> None:
    for key, value in REPO_CONFIG.items():
        git(path, "config", key, value)
    for name, script in (("pre-receive", WORKFLOWS_HOOK), ("post-receive", PUSH_LOG_HOOK)):
        hook = path / "hooks" / name
        hook.write_text(script)
        hook.chmod(0o755)


def fork_bare(source: Path, path: Path) -> None:
    """A bare copy of ``source`` with all its branches, as GitHub's fork button makes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--bare", "--quiet", "--no-local", str(source), str(path)],
                   check=True, capture_output=True, env=_env())
    git(path, "remote", "remove", "origin")
    _configure(path)


def set_branch(repo: Path, name: str, sha: str) -> None:
    git(repo, "update-ref", f"refs/heads/{name}", sha)


def commit_files(repo: Path, branch: str, files: dict[str, str | None], message: str,
                 author: tuple[str, str]) -> str:
    """Commit on top of ``branch``: each file set to its text, or removed when None; returns the sha.

    ``files`` may be empty: an empty commit, like the action's first one.
    """
    parent = branch_tips(repo)[branch]
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "read-tree", parent, env=index)
        for name, text in files.items():
            if text is None:  # mode 0 removes the entry; `--force-remove` wants a work tree, a bare one has none
                subprocess.run(["git", f"--git-dir={repo}", "update-index", "--index-info"],
                               input=f"0 {'0' * 40}\t{name}\n".encode(), check=True, capture_output=True,
                               env=_env(index))
                continue
            blob = subprocess.run(["git", f"--git-dir={repo}", "hash-object", "-w", "--stdin"], input=text.encode(),
                                  check=True, capture_output=True, env=_env()).stdout.decode().strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
        tree = git(repo, "write-tree", env=index).strip()
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", author[0]), ("EMAIL", author[1]))}
    sha = git(repo, "commit-tree", tree, "-p", parent, "-m", message, env=identity).strip()
    git(repo, "update-ref", f"refs/heads/{branch}", sha, parent)
    return sha


def fetch_into(repo: Path, source: Path, sha: str, ref: str) -> None:
    """Copy commit ``sha`` from ``source`` (a fork) into ``repo`` as ``ref``, as GitHub keeps refs/pull/N/head."""
    if source != repo:
        git(repo, "fetch", "--quiet", "--no-tags", str(source), sha)
    git(repo, "update-ref", ref, sha)


def merge_commit(repo: Path, base: str, head: str, message: str) -> str | None:
    """A merge commit of ``head`` into ``base`` (not on any branch), or None when they conflict.

    Its date is fixed, so the same two commits always give the same merge, as refs/pull/N/merge does.
    """
    done = subprocess.run(["git", f"--git-dir={repo}", "merge-tree", "--write-tree", base, head],
                          capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        return None
    tree = done.stdout.split()[0]
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", "GitHub"), ("EMAIL", "noreply@github.com"), ("DATE", INITIAL_DATE))}
    return git(repo, "commit-tree", tree, "-p", base, "-p", head, "-m", message, env=identity).strip()


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
    # -z: a path holding a newline or a quote comes back as it is, not C-quoted.
    out = subprocess.run(["git", f"--git-dir={repo}", "diff-tree", "-z", "--no-commit-id", "--name-only", "-r",
                          "--root", sha], check=True, capture_output=True, env=_env()).stdout
    return [path.decode("utf-8", "surrogateescape") for path in out.split(b"\0") if path]


@functools.lru_cache(maxsize=64)
def diff_stats(repo: Path, base: str, head: str) -> tuple[int, int, int]:
    """Additions, deletions and changed files of ``head`` against its merge base with ``base`` (kept: commits
    do not change, and finding renames among 30,000 files takes seconds on every look at the pull request)."""
    rows = [line.split("\t") for line in git(repo, "diff", "--numstat", f"{base}...{head}").splitlines()]
    numbers = [(int(added), int(deleted)) for added, deleted, _ in rows if added != "-"]  # "-": binary
    return sum(a for a, _ in numbers), sum(d for _, d in numbers), len(rows)


def forced_pushes(repo: Path) -> list[str]:
    """``ref old..new`` for each push that moved a branch to a commit not containing where it was."""
    log = repo / "pushes.log"
    updates = [line.split() for line in log.read_text().splitlines()] if log.is_file() else []
    forced = []
    for old, new, ref in updates:
        if not ref.startswith("refs/heads/") or ZERO_SHA in (old, new):
            continue  # a new or deleted branch, or not a branch (notes, locks)
        if subprocess.run(["git", f"--git-dir={repo}", "merge-base", "--is-ancestor", old, new],
                          capture_output=True, env=_env()).returncode:
            forced.append(f"{ref} {old[:12]}..{new[:12]}")
    return forced


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


def diff_hunk(repo: Path, base: str, head: str, path: str, line: int, side: str = "RIGHT") -> tuple[str, int] | None:
    """The diff hunk GitHub shows above a review comment on ``line`` of ``path`` and the line's position.

    The hunk runs from its ``@@`` header to the commented line; the position counts the
    lines below the file's first ``@@`` header. None when the line is not in the diff.
    """
    diff = git(repo, "diff", "--no-color", "--unified=3", f"{base}...{head}", "--", path).splitlines()
    position, hunk, old, new = 0, [], 0, 0
    for text in diff[next((i for i, t in enumerate(diff) if t.startswith("@@")), len(diff)):]:
        if text.startswith("@@"):
            old, new = (int(part.split(",")[0][1:]) for part in text.split()[1:3])
            position, hunk = (position + 1 if hunk else 0), [text]
            continue
        position += 1
        hunk.append(text)
        here = (old if text[:1] in " -" else None) if side == "LEFT" else (new if text[:1] in " +" else None)
        if here == line:
            return "\n".join(hunk), position
        old, new = old + (text[:1] in " -"), new + (text[:1] in " +")
    return None


def context_hunk(repo: Path, sha: str, path: str, line: int) -> str:
    """A hunk of unchanged lines ending at ``line``, for a comment on a line the diff does not show."""
    lines = git(repo, "show", f"{sha}:{path}").splitlines()
    start = max(1, line - 3)
    shown = lines[start - 1:line]
    return "\n".join([f"@@ -{start},{len(shown)} +{start},{len(shown)} @@", *(f" {t}" for t in shown)])


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff, as GitHub's "Files changed" lists it."""

    status: str
    """git's letter: A, D, M, T, R (renamed) or C (copied), the last two with ``previous``."""
    path: str
    additions: int
    deletions: int
    patch: str | None
    """The hunks (from the first ``@@``); None for a binary file or a change with none."""
    previous: str | None = None
    blobs: tuple[str, str] = (ZERO_SHA, ZERO_SHA)
    """The blob before and after (``ZERO_SHA`` where there is none)."""

    @property
    def sha(self) -> str:
        """The blob GitHub names: the new one, or the old one of a removed file."""
        return self.blobs[0] if self.status == "D" else self.blobs[1]


def diff_files(repo: Path, base: str, head: str) -> list[FileDiff]:
    """Each file ``head`` changes against its merge base with ``base``, renames found as GitHub finds them
    (status ``R``, the old path in ``previous``), any name (``-z``); without hunks (`with_patch`)."""
    statuses: dict[str, tuple[str, str | None, tuple[str, str]]] = {}
    fields = git(repo, "diff", "--raw", "--no-abbrev", "-z", "--find-renames", f"{base}...{head}").split("\0")
    index = 0
    while index < len(fields) - 1:
        _, _, old_sha, new_sha, status = fields[index].lstrip(":").split()
        if status[0] in "RC":
            statuses[fields[index + 2]] = (status[0], fields[index + 1], (old_sha, new_sha))
            index += 3
        else:
            statuses[fields[index + 1]] = (status[0], None, (old_sha, new_sha))
            index += 2
    numbers = {}
    fields = git(repo, "diff", "--numstat", "-z", "--find-renames", f"{base}...{head}").split("\0")
    index = 0
    while index < len(fields) - 1:
        added, deleted, path = fields[index].split("\t", 2)
        if path == "":  # a rename: the old and the new path follow
            path, index = fields[index + 2], index + 3
        else:
            index += 1
        numbers[path] = (int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0)
    found = []
    for path in sorted(statuses):
        status, previous, blobs = statuses[path]
        found.append(FileDiff(status, path, *numbers.get(path, (0, 0)), None, previous, blobs))
    return found


def with_patch(repo: Path, base: str, head: str, diff: FileDiff) -> FileDiff:
    """``diff`` with its hunks (one `git diff` per file: asked only for the files of the page served; none
    needed between empty files, which have no hunks)."""
    if all(blob in (ZERO_SHA, EMPTY_BLOB) for blob in diff.blobs):
        return diff
    paths = [diff.previous] if diff.previous else []
    text = git(repo, "diff", "--find-renames", f"{base}...{head}", "--", *paths, diff.path)
    hunks = text[text.find("\n@@") + 1:].rstrip("\n") if "\n@@" in text else None
    return dataclasses.replace(diff, patch=hunks)


def files_in(repo: Path, sha: str, folder: str) -> list[str]:
    """Paths of the files directly in ``folder`` at commit ``sha`` ([] when there is no such folder)."""
    done = subprocess.run(["git", f"--git-dir={repo}", "-c", "core.quotePath=false", "ls-tree", "--name-only",
                           f"{sha}:{folder}"], capture_output=True, text=True, env=_env())
    return [f"{folder}/{name}" for name in done.stdout.splitlines()] if done.returncode == 0 else []


def read_file(repo: Path, sha: str, path: str) -> str | None:
    """The text of ``path`` at commit ``sha``, or None when it has no such file."""
    done = subprocess.run(["git", f"--git-dir={repo}", "cat-file", "blob", f"{sha}:{path}"], capture_output=True,
                          env=_env())
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def resolve_ref(repo: Path, ref: str) -> str | None:
    """The commit a branch or tag name (or a full ``refs/heads/...``, ``refs/tags/...``) points at, or None."""
    names = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    for name in names:
        done = subprocess.run(["git", f"--git-dir={repo}", "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
                              capture_output=True, text=True, env=_env())
        if done.returncode == 0:
            return done.stdout.strip()
    return None
