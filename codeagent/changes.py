"""What a run changed: the files of the action's commit, and what was left out of it and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeftOut:
    """A changed path that is not in the commit, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str
    """``added``, ``modified``, ``deleted`` or (as GitHub lists a pull request's files) ``renamed``."""
    previous: str | None = None
    """A renamed file's earlier path."""


@dataclass(frozen=True)
class Commit:
    """A commit the action made of the agent's work (not yet pushed)."""

    sha: str
    files: tuple[FileChange, ...]
    left_out: tuple[LeftOut, ...]


@dataclass(frozen=True)
class Change:
    """What the packer found, checked: the commit to push (None when nothing is left to commit)."""

    commit: Commit | None
    left_out: tuple[LeftOut, ...]
    ignored_changed: tuple[str, ...] = ()
    """Files the repository's .gitignore covers that the agent changed: never committed."""


@dataclass(frozen=True)
class Caps:
    max_file_bytes: int = 100 * 1024**2
    max_total_bytes: int = 500 * 1024**2
