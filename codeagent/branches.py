"""git for a run: the action's own repository (which holds the token) and the runner's checkout.

`workflow.Run` sees only this (the `ports.Branches` seam): fetch a branch, start one with
a first commit, hand a commit to the agent, turn the packer's data into a checked commit,
push it with the session note in one push.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from codeagent.branch_lock import HeldLock, LockHolder, lock_ref
from codeagent.changes import Caps, Change
from codeagent.checkout import Checkout
from codeagent.errors import GitError
from codeagent.publish import check_and_commit
from codeagent.repository import Repository

NOTES_REF = "refs/notes/codeagent/"
"""Prefix of the notes ref that keeps a branch's agent session; the branch name follows."""


def notes_ref(branch: str) -> str:
    return NOTES_REF + branch


class Branches:
    """The `ports.Branches` of a real run."""

    def __init__(self, repository: Repository, checkout: Checkout, agent_git: Path, default_branch: str,
                 redact: Callable[[str], str] = lambda text: text, default_sha: str | None = None) -> None:
        """``redact`` is applied to what carries the agent's words: commit messages and session notes.
        ``default_sha``: the default branch's commit, when the run has fetched it already (the config file
        was read from it): the whole run then works from that one commit, fetched once."""
        self.repository, self.checkout, self._redact = repository, checkout, redact
        self._agent_git = agent_git
        self._default_branch = default_branch
        self._default_sha = default_sha

    def check_clean(self) -> None:
        self.checkout.check_clean()

    def fetch(self, branch: str) -> str | None:
        """``branch``'s commit on the server, fetched (None: no such branch); the default branch's, once a run."""
        if branch == self._default_branch:
            return self.default_sha or None
        return self.repository.fetch_branch(branch)

    def forget_default_branch(self) -> None:
        """The default branch may have moved (the run waited for another): fetched again when next needed."""
        self._default_sha = None

    def start(self, branch: str, base: str, message: str) -> str:
        """A new ``branch`` on the server: one empty commit on ``base``, pushed."""
        first = self.repository.empty_commit(base, message)
        return self.repository.push(branch, first, expected=None)

    def hand_to_agent(self, branch: str, sha: str) -> None:
        """The checkout switched to ``branch`` at ``sha``, and the agent's own `.git` made for it."""
        self.checkout.switch_to(self.repository.path, branch, sha)
        shallow = self.repository.path / "shallow"
        self.checkout.agent_git_dir(self._agent_git, branch, sha, shallow if shallow.is_file() else None)

    def commit_change(self, out: Path, base: str, message: str, caps: Caps) -> Change:
        return check_and_commit(self.repository, out, base, self._redact(message), caps)

    def push(self, branch: str, commit: str, expected: str | None, note: str | None) -> str:
        notes: tuple[str, ...] = ()
        if note is not None:
            self.repository.write_note(notes_ref(branch), commit, self._redact(note))
            notes = (notes_ref(branch),)
        return self.repository.push(branch, commit, expected=expected, notes=notes)

    def delete_remote_branch(self, branch: str) -> None:
        self.repository.delete_remote_branch(branch)

    def read_note(self, branch: str) -> str | None:
        return self.repository.read_note(notes_ref(branch))

    def take_lock(self, branch: str, holder: LockHolder, replacing: str | None) -> str | None:
        lock = self.repository.empty_root_commit(holder.message())
        return lock if self.repository.set_ref(lock_ref(branch), lock, replacing) else None

    def read_lock(self, branch: str) -> HeldLock | None:
        found = self.repository.ref_message(lock_ref(branch))
        return HeldLock(found[0], LockHolder.parse(found[1])) if found else None

    def release_lock(self, branch: str, sha: str) -> bool:
        return self.repository.set_ref(lock_ref(branch), None, sha)

    def default_branch_file(self, path: str) -> str | None:
        """``path`` as the default branch has it (config, devcontainer, test detection): never the checkout's."""
        if not self.default_sha:
            return None
        data = self.repository.show(self.default_sha, path)
        return data.decode("utf-8", errors="replace") if data is not None else None

    def default_branch_archive(self, directory: str, out: Path) -> None:
        """``directory`` as the default branch has it, as a tar file (a devcontainer's build context)."""
        if not self.default_sha:
            raise GitError(f"the default branch {self._default_branch} is not on the server. Re-run the job; "
                           "if the repository's default branch was renamed meanwhile, start again with a new `/code`.")
        self.repository.archive(self.default_sha, directory, out)

    def differs_from_default(self, sha: str, paths: tuple[str, ...]) -> list[str]:
        """Those of ``paths`` (files or directories) that commit ``sha`` has otherwise than the default branch."""
        if not self.default_sha:
            return []
        return [path for path in paths
                if self.repository.object_id(sha, path) != self.repository.object_id(self.default_sha, path)]

    @property
    def default_sha(self) -> str:
        """The default branch's commit, fetched once ("" when the server has no such branch)."""
        if self._default_sha is None:
            self._default_sha = self.repository.fetch_branch(self._default_branch) or ""
        return self._default_sha
