"""The action's own repository: where every git command that holds the token runs.

A bare repository in the run's state directory, which no agent ever sees or writes. It
fetches what the run needs from the server (the base, the branch, the kept session), makes
the action's commits with `commit-tree` (no worktree, no index of anyone else), imports the
agent's change as a bundle the packer wrote (data, checked by `codeagent.publish`), and pushes.
The token travels in the environment of the fetch and push commands only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import GitError, RefRefused
from codeagent.gitcmd import Git, Identity, auth_header

PUSH_ATTEMPTS = 3
"""Pushes tried before giving up on a branch that keeps moving on the server."""
CATCH_UP_DEPTH = 100
"""How much of a branch that moved meanwhile is fetched to find where our commit started."""


@dataclass(frozen=True)
class TreeChange:
    """One path a commit changes, from ``git diff-tree --raw``."""

    status: str
    """``A``dded, ``M``odified, ``D``eleted, ``T`` (type changed)."""
    path: str
    old_mode: str
    new_mode: str
    new_sha: str


class Repository:
    """The action's bare repository of ``repository`` (``owner/name``) on ``server_url``."""

    def __init__(self, path: Path, *, server_url: str, repository: str, token: str, identity: Identity,
                 git_env: Mapping[str, str] | None = None) -> None:
        """``git_env``: more environment for every git command (a test puts a recording `git` on PATH)."""
        self.path = Path(path)
        self.url = f"{server_url.rstrip('/')}/{repository}.git"
        self._auth = {f"http.{server_url.rstrip('/')}/.extraheader": auth_header(token)}
        self._identity = identity
        self._git_env = dict(git_env or {})
        self._git = Git(self.path, secrets=(token, auth_header(token).split()[-1]), env={
            "GIT_AUTHOR_NAME": identity.name, "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name, "GIT_COMMITTER_EMAIL": identity.email, **self._git_env})
        if not (self.path / "HEAD").is_file():
            self.path.mkdir(parents=True, exist_ok=True)
            self._git.check("init", "--quiet", "--bare", str(self.path))

    @property
    def objects(self) -> Path:
        return self.path / "objects"

    # -- from the server --

    def fetch_branch(self, branch: str, depth: int | None = 1) -> str | None:
        """The sha of ``branch`` on the server, its commits fetched; None when there is no such branch."""
        return self._fetch(f"+refs/heads/{branch}:refs/remotes/origin/{branch}", depth,
                           f"refs/remotes/origin/{branch}")

    def read_note(self, ref: str) -> str | None:
        """The note kept under ``ref`` on the server (one per ref: the newest replaced the older), or None."""
        if self._fetch(f"+{ref}:{ref}", None, ref) is None:
            return None
        listing = self._git.check("ls-tree", ref)
        blobs = [line.split()[2] for line in listing.splitlines() if " blob " in line]
        return self._git.check("cat-file", "blob", blobs[-1]) if blobs else None

    def _fetch(self, refspec: str, depth: int | None, result: str) -> str | None:
        options = [f"--depth={depth}"] if depth else []
        status, _, err = self._git.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", *options, self.url,
                                       refspec, config=self._auth)
        if status:
            if "couldn't find remote ref" in err or "not our ref" in err or "no such remote ref" in err:
                return None
            raise self._git.failure("fetch", err)
        return self._git.check("rev-parse", "--verify", "--quiet", f"{result}^{{commit}}")

    # -- reading --

    def show(self, sha: str, path: str) -> bytes | None:
        """The content of ``path`` at commit ``sha`` (a regular file), or None when there is none."""
        status, kind, _ = self._git.run("cat-file", "-t", f"{sha}:{path}")
        if status or kind != "blob":
            return None
        mode = self._git.check("ls-tree", sha, "--", path).split(" ", 1)[0]
        if mode not in ("100644", "100755"):
            return None  # a symlink or a submodule: not a file to read
        return self._git.check("cat-file", "blob", f"{sha}:{path}").encode()

    def archive(self, sha: str, directory: str, out: Path) -> None:
        """``directory`` of commit ``sha`` as a tar file at ``out`` (a build context)."""
        spec = f"{sha}:{directory}" if directory not in ("", ".") else sha
        self._git.check("archive", "--format=tar", f"--output={out}", spec)

    def object_id(self, sha: str, path: str) -> str | None:
        """The id of the blob or tree at ``path`` in commit ``sha``, or None when it has none."""
        status, out, _ = self._git.run("rev-parse", "--verify", "--quiet", f"{sha}:{path}")
        return out.strip() if status == 0 else None

    def tree_of(self, sha: str) -> str:
        return self._git.check("rev-parse", f"{sha}^{{tree}}")

    def parents_of(self, sha: str) -> list[str]:
        return self._git.check("rev-list", "--parents", "-n", "1", sha).split()[1:]

    def changes(self, old: str, new: str) -> list[TreeChange]:
        """Every path that differs between two commits or trees, renames as delete and add."""
        out = self._git.check("diff-tree", "-r", "-z", "--no-renames", "--raw", old, new)
        fields = out.split("\0")
        changes = []
        for meta, path in zip(fields[0::2], fields[1::2]):
            if not meta.startswith(":"):
                continue
            old_mode, new_mode, _, new_sha, status = meta[1:].split()
            changes.append(TreeChange(status[0], path, old_mode, new_mode, new_sha))
        return changes

    def sizes_of(self, shas: list[str]) -> dict[str, int]:
        """The size of each blob of ``shas``, asked of one `git cat-file --batch-check` (one process for
        30,000 files: one `cat-file -s` each took a minute and more)."""
        if not shas:
            return {}
        out = self._git.check("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                              stdin="\n".join(dict.fromkeys(shas)) + "\n")
        sizes = {}
        for line in out.splitlines():
            sha, kind, size = (line.split() + ["", ""])[:3]
            if kind != "blob":
                raise GitError(f"the agent's change names {sha}, which is not a file here. To fix: re-run the job.")
            sizes[sha] = int(size)
        return sizes

    def entries_under(self, commit: str, paths: set[str]) -> dict[str, str]:
        """``path: "mode sha"`` of each file, symlink and gitlink of ``commit`` at or under one of ``paths``."""
        if not paths:
            return {}
        out = self._git.check("ls-tree", "-r", "-z", "--full-tree", commit)
        found = {}
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            if _at_or_under(path, paths):
                mode, _, sha = meta.split()
                found[path] = f"{mode} {sha}"
        return found

    # -- writing --

    def commit(self, tree: str, parents: list[str], message: str) -> str:
        """A commit of ``tree`` (the action's identity as author and committer)."""
        args = [arg for parent in parents for arg in ("-p", parent)]
        return self._git.check("commit-tree", tree, *args, stdin=message)

    def empty_commit(self, parent: str, message: str) -> str:
        """A commit on top of ``parent`` that changes nothing."""
        return self.commit(self.tree_of(parent), [parent], message)

    def import_bundle(self, bundle: Path, base: str) -> str:
        """The commit in the packer's ``bundle``, fetched here; it must be one commit on top of ``base``."""
        ref = "refs/codeagent/change"
        status, _, err = self._git.run("fetch", "--quiet", "--no-tags", str(bundle), f"+refs/heads/change:{ref}")
        if status:
            raise GitError(f"the agent's change could not be read ({self._git.mask(err.strip()[-300:])}). "
                           "To fix: re-run the job; the agent's files are still in the runner's checkout.")
        commit = self._git.check("rev-parse", f"{ref}^{{commit}}")
        if self.parents_of(commit) != [base]:
            raise GitError("the packer's commit does not start where the agent started. To fix: re-run the job.")
        return commit

    def rewrite(self, commit: str, base: str, restore: set[str]) -> str:
        """The tree of ``commit`` with each path of ``restore``, and everything under it, as it is in ``base``.

        Whole subtrees: the agent may have made a folder of ``base`` a symlink or a file, or the other way
        round, and one ``mode sha`` line per path cannot put a folder back (`update-index` takes a tree's
        id as a file's and drops the slash). So every entry of ``commit`` at or under a path is removed,
        then every file of ``base`` there added, and the result is checked against ``base`` there."""
        if not restore:
            return self.tree_of(commit)
        theirs, ours = self.entries_under(commit, restore), self.entries_under(base, restore)
        lines = [f"0 {'0' * 40}\t{path}" for path in theirs] + [f"{entry}\t{path}" for path, entry in ours.items()]
        with tempfile.TemporaryDirectory() as scratch:
            git = Git(self.path, env={**self._git_env, "GIT_INDEX_FILE": os.path.join(scratch, "index")})
            git.check("read-tree", commit)
            git.check("update-index", "-z", "--index-info", stdin="\0".join(lines) + "\0")
            tree = git.check("write-tree")
        if self.entries_under(tree, restore) != ours:
            raise GitError("the agent's change could not be put back as it was where it may not change. "
                           "To fix: re-run the job; report it if it fails again.")
        return tree

    def write_note(self, ref: str, commit: str, text: str) -> None:
        """Make ``text`` the only note under ``ref``, attached to ``commit`` (pushed with the branch)."""
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".note") as note:
            note.write(text)
            note.flush()
            self._git.run("update-ref", "-d", ref)
            self._git.check("notes", f"--ref={ref}", "add", "--force", "--file", note.name, commit)

    # -- to the server --

    def push(self, branch: str, commit: str, *, expected: str | None, notes: tuple[str, ...] = ()) -> str:
        """Push ``commit`` to ``branch`` (never forcing it) with the ``notes`` refs, in one push.

        ``expected`` is where the branch was when the run started (None: it did not exist).
        When someone pushed to it meanwhile, our commit is replayed on top of theirs with a
        three-way merge of trees (no worktree involved); when that conflicts, our commit goes
        to a branch of its own beside theirs, and the error says where. Returns what was pushed.
        """
        for _ in range(PUSH_ATTEMPTS):
            lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
            refspecs = [f"{commit}:refs/heads/{branch}", *(f"+{ref}:{ref}" for ref in notes)]
            status, out, err = self._git.run("push", "--porcelain", "--atomic", lease, self.url, *refspecs,
                                             config=self._auth)
            if status == 0:
                return commit
            if "stale info" not in out + err and "fetch first" not in out + err and "non-fast-forward" not in out:
                rejections = [line for line in out.splitlines() if line.startswith("!")]
                raise self._git.failure("push", "\n".join([err, *rejections]))
            commit, expected = self._replay(branch, commit)
        raise GitError(f"push of {branch} rejected {PUSH_ATTEMPTS} times: the branch on the server kept moving. "
                       "To fix: run the action again once nobody else pushes to it.")

    def _replay(self, branch: str, commit: str) -> tuple[str, str]:
        """Our ``commit`` replayed on the branch as it now is on the server: (new commit, its parent)."""
        theirs = self.fetch_branch(branch, depth=CATCH_UP_DEPTH)
        if theirs is None:
            raise GitError(f"{branch} was deleted on the server while the agent worked. To fix: run the action "
                           "again to start it afresh.")
        status, tree, _ = self._git.run("merge-tree", "--write-tree", "--no-messages", theirs, commit)
        if status == 0:
            message = self._git.check("log", "-1", "--format=%B", commit)
            return self.commit(tree.split()[0], [theirs], message), theirs
        side = f"{branch}-conflict-{commit[:8]}"
        pushed = self._git.run("push", "--quiet", self.url, f"{commit}:refs/heads/{side}", config=self._auth)[0] == 0
        kept = f"our work is on the branch {side}" if pushed else f"our work is commit {commit} (pushing it failed too)"
        raise GitError(f"push of {branch} rejected: commits were pushed to it meanwhile and ours conflict with them. "
                       f"Nothing was overwritten; {kept}. To fix: merge it into {branch} by hand, or resolve the "
                       "conflict and run the action again.")

    def set_ref(self, ref: str, commit: str | None, expected: str | None) -> bool:
        """Point ``ref`` on the server at ``commit`` (None: delete it) if it is at ``expected`` (None: if there
        is no such ref), atomically: the server checks and updates in one step. False when it was not so.

        Raises `RefRefused` when the server rejects the update twice while the ref is as expected (a
        hook or a rule: not a race, which the second try would have lost or won)."""
        lease, spec = f"--force-with-lease={ref}:{expected or ''}", f"{commit or ''}:{ref}"
        for _ in range(2):
            status, out, err = self._git.run("push", "--porcelain", lease, self.url, spec, config=self._auth)
            if status == 0:
                return True
            rejections = [line for line in out.splitlines() if line.startswith("!")]
            if not rejections:  # no answer about the ref at all: the server could not be reached, or refused us
                raise self._git.failure("push", err)
            if "(stale info)" in out or self.remote_ref(ref) != expected:
                return False  # not as expected: git saw it before sending, or the server did
        raise RefRefused(str(self._git.failure("push", "\n".join([err, *rejections]))))

    def remote_ref(self, ref: str) -> str | None:
        """Where ``ref`` is on the server; None when there is no such ref."""
        status, out, err = self._git.run("ls-remote", self.url, ref, config=self._auth)
        if status:
            raise self._git.failure("ls-remote", err)
        return next((line.split()[0] for line in out.splitlines() if line.split()[1:] == [ref]), None)

    def ref_message(self, ref: str) -> tuple[str, str] | None:
        """The commit ``ref`` points at on the server and its message; None when there is no such ref."""
        sha = self._fetch(f"+{ref}:{ref}", None, ref)
        return (sha, self._git.check("log", "-1", "--format=%B", sha)) if sha else None

    def empty_root_commit(self, message: str) -> str:
        """A commit with no parent and no file (what a lock ref points at)."""
        return self.commit(self._git.check("mktree", stdin=""), [], message)

    def delete_remote_branch(self, branch: str) -> None:
        """Delete ``branch`` on the server."""
        status, _, err = self._git.run("push", "--quiet", self.url, f":refs/heads/{branch}", config=self._auth)
        if status:
            raise self._git.failure("push", err)


def _at_or_under(path: str, roots: set[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies under one of them."""
    parts = path.split("/")
    return any("/".join(parts[:depth]) in roots for depth in range(1, len(parts) + 1))
