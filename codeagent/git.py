"""The runner's checkout, through GitPython: trust, branch, commit and push with the workflow token.

The action runs as root on a checkout owned by the runner's user, after an agent that
could write anything into it, `.git` included. So every git command here runs with the
action's identity as author and committer, without hooks or fsmonitor (the action must
not run, as root and with the token at hand, a program the agent left in `.git`), and
without a terminal prompt (a missing credential fails at once instead of hanging).
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from codeagent.errors import GitError

PUSH_ATTEMPTS = 3
"""Pushes tried before giving up on a branch that keeps moving on origin."""

NEVER_COMMIT = Path(__file__).with_name("never-commit.gitignore")
"""Build and cache litter of the agent's tool runs, never committed when untracked."""
HARDENING = {"core.hooksPath": "/dev/null", "core.fsmonitor": "false", "commit.gpgSign": "false",
             "core.excludesFile": str(NEVER_COMMIT)}
"""Config every command sees, above the repo's own (GIT_CONFIG_COUNT is command-line scope)."""

NO_PUSH = "the workflow token may not push: give the job `permissions: contents: write`"
HINTS = (
    ("not a git repository", "run actions/checkout before this action"),
    ("dubious ownership", "call Workspace.trust() before any other git command"),
    ("would be overwritten", "an earlier step left uncommitted changes that conflict; "
     "commit or discard them in that step"),
    ("`workflows` permission", "the workflow token cannot push changes under .github/workflows/; "
     "leave them out of the commit"),
    ("protected branch", "the branch is protected on GitHub; exempt the codeagent/ branches "
     "from the protection rule"),
    ("denied to", NO_PUSH),
    ("returned error: 403", NO_PUSH),
    ("returned error: 401", "the token was refused: pass the workflow's GITHUB_TOKEN"),
    ("could not read Username", "the token was missing or refused: pass the workflow's "
     "GITHUB_TOKEN"),
    ("Repository not found", "the token cannot see the repository: give the job "
     "`permissions: contents: write`"),
)
"""Fragments of git's error output, and what the user can do about each."""


@dataclass(frozen=True)
class Identity:
    """Author and committer of every commit the action makes."""

    name: str
    email: str


@dataclass(frozen=True)
class Commit:
    """A commit the action made."""

    sha: str
    files: tuple[str, ...]
    """Paths the commit adds, changes or deletes (a rename lists both paths)."""
    left_out: tuple[str, ...]
    """Changed paths kept out of the commit; they stay in the working tree."""


class Workspace:
    """The runner's checkout, as the action (root, in its container) works on it."""

    def __init__(self, path: Path, *, server_url: str, token: str, identity: Identity):
        self.path = Path(path)
        self._auth_key = f"http.{server_url.rstrip('/')}/.extraheader"
        credential = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self._auth_header = f"AUTHORIZATION: basic {credential}"
        self._secrets = tuple(s for s in (token, credential) if s)
        self._authenticated = False
        self._git = git.Git(self.path)
        self._git.update_environment(**_environment(identity))

    def trust(self) -> None:
        """Add the checkout to `safe.directory` in the global config; call before anything else.

        git refuses a repository owned by another user ("dubious ownership"), and the
        checkout belongs to the runner's user while the action runs as root.
        """
        path = str(self.path.resolve())
        status, trusted, _ = self._run("config", "--global", "--get-all", "safe.directory")
        if path not in trusted.splitlines():
            self._check("config", "--global", "--add", "safe.directory", path)

    def current_branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""
        status, out, err = self._run("symbolic-ref", "--quiet", "--short", "HEAD")
        if status not in (0, 1):
            raise self._failure("symbolic-ref", err)
        return out if status == 0 else None

    def head_sha(self) -> str:
        """The sha of the checked-out commit."""
        return self._check("rev-parse", "HEAD")

    def owner(self) -> tuple[int, int]:
        """uid and gid of the checkout directory: the runner's user."""
        stat = self.path.stat()
        return stat.st_uid, stat.st_gid

    @contextmanager
    def authenticated(self) -> Iterator[None]:
        """Within the block, fetch and push send the token as actions/checkout does.

        actions/checkout may have left its own header (persist-credentials) and GitHub
        rejects two Authorization headers, so every extra header in the checkout's config
        is replaced by ours for the block and put back exactly after it, also on an
        exception (as create-pull-request's GitConfigHelper does). Re-entrant.
        """
        if self._authenticated:
            yield
            return
        with self.without_credentials():
            self._authenticated = True
            try:
                self._set_config_values(self._auth_key, [self._auth_header])
                yield
            finally:
                self._set_config_values(self._auth_key, [])
                self._authenticated = False

    @contextmanager
    def without_credentials(self) -> Iterator[None]:
        """Within the block (the agent's run), the checkout's config holds no token.

        actions/checkout keeps the token in `.git/config`, which the agent can read.
        Afterwards the config is put back byte for byte, also on an exception; that also
        undoes whatever the agent wrote there (a proxy, `http.sslVerify false`, a
        credential helper), which would otherwise act on the push that carries the token.
        """
        config = Path(self._check("rev-parse", "--absolute-git-dir")) / "config"
        saved, mode = config.read_bytes(), config.stat().st_mode
        try:
            for key in self._extra_headers():
                self._set_config_values(key, [])
            yield
        finally:
            _replace_file(config, saved, mode)

    def start_branch(self, name: str, base: str) -> None:
        """Check out a local branch `name` (created or reset) at `base`, a branch name or a sha.

        `base` is looked up as a local branch, then as origin's, then as any revision; a
        shallow checkout that lacks it fetches it, one commit deep. Uncommitted changes
        in the working tree are carried over, never discarded.
        """
        self._check("checkout", "--quiet", "--no-track", "-B", name, self._resolve(base))

    def fetch_branch(self, name: str) -> bool:
        """Fetch origin's `name` into origin/`name` (one commit deep in a shallow checkout).

        Returns False when origin has no such branch.
        """
        status, _, err = self._fetch(name, shallow=self._is_shallow())
        if "couldn't find remote ref" in err:
            return False
        if status:
            raise self._failure("fetch", err)
        return True

    def dirty_paths(self) -> list[str]:
        """Paths changed in the working tree (tracked or new, not ignored) since HEAD."""
        out = self._check("status", "--porcelain", "-z", "--untracked-files=all")
        return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})

    def delete_remote_branch(self, name: str) -> None:
        """Delete ``name`` on origin."""
        with self.authenticated():
            status, _, err = self._run("push", "--quiet", "origin", "--delete", name)
        if status:
            raise self._failure("push", err)

    def read_note(self, ref: str, depth: int = 50) -> str | None:
        """The note under `ref` (fetched from origin) on HEAD, or on its nearest first-parent
        ancestor that has one; None when there is none."""
        with self.authenticated():
            status, _, err = self._run("fetch", "--quiet", "--no-tags", "origin", f"+{ref}:{ref}")
        if status:
            if "couldn't find remote ref" in err:
                return None
            raise self._failure("fetch", err)
        for sha in self._check("rev-list", "--first-parent", f"--max-count={depth}", "HEAD").split():
            status, out, _ = self._run("notes", f"--ref={ref}", "show", sha)
            if status == 0:
                return out
        return None

    def write_note(self, ref: str, text: str) -> None:
        """Attach `text` to HEAD under `ref` and push `ref` to origin.

        The ref is replaced, not merged: only the newest note matters to its readers.
        """
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".note") as note:
            note.write(text)
            note.flush()
            self._check("notes", f"--ref={ref}", "add", "--force", "--file", note.name, "HEAD")
        with self.authenticated():
            status, _, err = self._run("push", "--quiet", "origin", f"+{ref}:{ref}")
        if status:
            raise self._failure("push", err)

    def commit_empty(self, message: str) -> str:
        """Commit nothing on top of HEAD, returning the new sha.

        Built with commit-tree so that changes an earlier step staged stay staged for
        `commit_all` instead of landing in this commit.
        """
        parent = self.head_sha()
        tree = self._check("rev-parse", "HEAD^{tree}")
        sha = self._check("commit-tree", tree, "-p", parent, "-m", message)
        self._check("update-ref", "-m", f"commit: {message.splitlines()[0]}", "HEAD", sha, parent)
        return sha

    def commit_all(self, message: str,
                   exclude_prefixes: tuple[str, ...] = (".github/workflows/",)) -> Commit | None:
        """Commit every change in the working tree (honouring .gitignore) except excluded paths.

        Paths under `exclude_prefixes` (git pathspecs: a directory covers what is in it)
        stay changed in the working tree and are reported in `left_out`. Returns None
        when nothing else changed.
        """
        self._check("add", "--all")
        excluded = [f":(literal){prefix}" for prefix in exclude_prefixes]
        left_out = self._staged(*excluded) if excluded else ()
        if left_out:
            self._check("reset", "--quiet", "--", *excluded)
        files = self._staged()
        if not files:
            return None
        self._check("commit", "--quiet", "--no-verify", "--message", message)
        return Commit(self.head_sha(), files, left_out)

    def push(self, branch: str) -> None:
        """Push the checked-out `branch` to origin, never forcing.

        When origin's branch moved meanwhile, our commits are rebased onto it (a merge
        when the rebase conflicts) and the push is tried again, up to PUSH_ATTEMPTS times;
        commits someone else pushed are always kept.
        """
        for _ in range(PUSH_ATTEMPTS):
            with self.authenticated():
                status, out, err = self._run("push", "--porcelain", "origin",
                                             f"refs/heads/{branch}:refs/heads/{branch}")
            if status == 0:
                return
            if "fetch first" not in out and "non-fast-forward" not in out:
                rejections = [line for line in out.splitlines() if line.startswith("!")]
                raise self._failure("push", "\n".join([err, *rejections]))
            self._build_on_remote(branch)
        raise GitError(f"push of {branch} rejected {PUSH_ATTEMPTS} times: the branch on origin "
                       "kept moving. Run the action again once nobody else pushes to it.")

    def restore_ownership(self, uid: int, gid: int) -> None:
        """Give what this process created or changed in the checkout back to `uid`:`gid`.

        Files root wrote (commits, the index, config) would otherwise be unusable by the
        runner's later, non-root steps. Symlinks are changed, not followed.
        """
        me = os.geteuid()
        try:
            for path in _tree(self.path):
                stat = os.lstat(path)
                if stat.st_uid == me and (stat.st_uid, stat.st_gid) != (uid, gid):
                    os.lchown(path, uid, gid)
        except OSError as error:
            raise GitError(f"could not give {error.filename} back to uid {uid}: "
                           f"{error.strerror}. Run the action as root.") from error

    def _resolve(self, base: str) -> str:
        """The sha `base` names, fetched from origin when the checkout lacks it."""
        for ref in (f"refs/heads/{base}", f"refs/remotes/origin/{base}", base):
            status, sha, _ = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            if status == 0:
                return sha
        status, _, err = self._fetch(base, shallow=self._is_shallow())
        if status:
            raise GitError(self._mask(f"{base!r} is neither in the checkout nor on origin: "
                                      f"{_last_lines(err)}"))
        return self._check("rev-parse", "FETCH_HEAD^{commit}")

    def _fetch(self, ref: str, *, shallow: bool) -> tuple[int, str, str]:
        """Fetch a branch (into origin/<branch>) or a sha (into FETCH_HEAD) from origin."""
        is_sha = len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)
        refspec = ref if is_sha else f"+refs/heads/{ref}:refs/remotes/origin/{ref}"
        depth = ["--depth=1"] if shallow else []
        with self.authenticated():
            return self._run("fetch", "--quiet", "--no-tags", *depth, "origin", refspec)

    def _build_on_remote(self, branch: str) -> None:
        """Put our commits on top of origin's moved `branch`: rebase, or merge on conflict."""
        if self.current_branch() != branch:
            raise GitError(f"cannot update {branch}: it is not the checked-out branch")
        status, _, err = self._fetch(branch, shallow=False)  # full: rebase needs the merge base
        if status:
            raise self._failure("fetch", err)
        upstream = f"refs/remotes/origin/{branch}"
        if self._run("rebase", "--quiet", "--autostash", upstream)[0] == 0:
            return
        self._run("rebase", "--abort")
        if self._run("merge", "--quiet", "--autostash", "--no-edit", upstream)[0] == 0:
            return
        self._run("merge", "--abort")
        # No work is lost: our commit goes to a branch of its own, beside theirs.
        side = f"{branch}-conflict-{self.head_sha()[:8]}"
        with self.authenticated():
            status, _, _ = self._run("push", "--quiet", "origin", f"HEAD:refs/heads/{side}")
        kept = (f"our work is on the branch {side}" if status == 0
                else f"our work is commit {self.head_sha()} in the checkout (pushing it to {side} failed too)")
        raise GitError(f"push of {branch} rejected: commits were pushed to it meanwhile and ours "
                       f"conflict with them. Nothing was overwritten; {kept}. Merge it into {branch} "
                       "by hand, or resolve the conflict and run the action again.")

    def _is_shallow(self) -> bool:
        """Whether the checkout is shallow (actions/checkout fetches one commit by default)."""
        return self._check("rev-parse", "--is-shallow-repository") == "true"

    def _staged(self, *pathspecs: str) -> tuple[str, ...]:
        """Paths whose staged content differs from HEAD, renames listed as delete and add."""
        out = self._check("diff-index", "--cached", "--name-only", "-z", "HEAD", "--", *pathspecs)
        return tuple(path for path in out.split("\0") if path)

    def _extra_headers(self) -> dict[str, list[str]]:
        """Every `http[.<url>].extraheader` in the checkout's own config, values in order."""
        status, out, err = self._run("config", "--local", "--null", "--get-regexp",
                                     r"^http\.(.*\.)?extraheader$")
        if status not in (0, 1):  # 1: there is none
            raise self._failure("config", err)
        headers: dict[str, list[str]] = {}
        for entry in filter(None, out.split("\0")):
            key, _, value = entry.partition("\n")
            headers.setdefault(key, []).append(value)
        return headers

    def _set_config_values(self, key: str, values: list[str]) -> None:
        """Make `values` the only values of `key` in the checkout's own config."""
        status, _, err = self._run("config", "--local", "--unset-all", key)
        if status not in (0, 5):  # 5: there was nothing to unset
            raise self._failure("config", err)
        for value in values:
            self._check("config", "--local", "--add", key, value)

    def _check(self, *args: str) -> str:
        """Run git; its output, or a GitError saying what failed."""
        status, out, err = self._run(*args)
        if status:
            raise self._failure(args[0], err)
        return out

    def _run(self, *args: str) -> tuple[int, str, str]:
        """Run git in the checkout: exit status, stdout and stderr."""
        return self._git.execute(["git", *args], with_extended_output=True,
                                 with_exceptions=False)

    def _failure(self, command: str, stderr: str) -> GitError:
        """A GitError for a failed git command, with a hint when one fits, secrets masked."""
        hint = next((hint for fragment, hint in HINTS if fragment in stderr), "")
        message = f"git {command} failed: {_last_lines(stderr).rstrip('.')}."
        return GitError(self._mask(f"{message} To fix: {hint}." if hint else message))

    def _mask(self, text: str) -> str:
        """`text` with the token, also in its base64 form, replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _environment(identity: Identity) -> dict[str, str]:
    """Environment of every git command: identity, no prompts, HARDENING."""
    env = {"GIT_AUTHOR_NAME": identity.name, "GIT_AUTHOR_EMAIL": identity.email,
           "GIT_COMMITTER_NAME": identity.name, "GIT_COMMITTER_EMAIL": identity.email,
           "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true",
           "GIT_CONFIG_COUNT": str(len(HARDENING))}
    for index, (key, value) in enumerate(HARDENING.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _tree(top: Path) -> Iterator[str]:
    """`top` and every path below it, without following symlinks."""
    yield str(top)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            yield os.path.join(root, name)


def _replace_file(path: Path, data: bytes, mode: int) -> None:
    """Make `path` a regular file holding `data`, replacing whatever (even a symlink) is there."""
    temporary = path.with_name(f"{path.name}.codeagent")
    temporary.write_bytes(data)
    temporary.chmod(mode & 0o7777)
    os.replace(temporary, path)


def _last_lines(stderr: str, count: int = 3) -> str:
    """The last few lines of git's error output that are not hints, joined."""
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith("hint:")]
    return " / ".join(lines[-count:]) or "no error output"
