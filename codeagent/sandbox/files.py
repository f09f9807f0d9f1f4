"""The sandbox's files on the runner's side: the agent's output kept in a file, the lines of it the
log shows, and handing a directory to the agent's user."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

TRANSCRIPT_BYTES = 64 * 1024 * 1024
"""The transcript file keeps at most this much of the CLI's output."""


class LineBudget:
    """Counts lines against a limit: `take` says whether one more may be shown."""

    def __init__(self, limit: int) -> None:
        self._left, self.over = limit, 0

    def take(self) -> bool:
        if self._left > 0:
            self._left -= 1
            return True
        self.over += 1
        return False


class TranscriptFile:
    """The CLI's raw output, kept in a file (up to TRANSCRIPT_BYTES) for a later step to upload."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None
        self._size = 0

    def __enter__(self) -> TranscriptFile:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._path.open("a", encoding="utf-8")
        return self

    def write(self, line: str) -> None:
        if self._file is not None and self._size + len(line) < TRANSCRIPT_BYTES:
            self._file.write(line + "\n")
            self._size += len(line) + 1

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()


def give_to(directory: Path, uid: int, gid: int) -> None:
    """Create ``directory`` and hand it and its content to the agent's user, iteratively, links not followed."""
    directory.mkdir(parents=True, exist_ok=True)
    stack = [str(directory)]
    os.chown(directory, uid, gid)
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                os.chown(entry.path, uid, gid, follow_symlinks=False)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
