"""Splitting a container's output into lines, in time linear in its size, with caps.

The agent writes to the same stdout as its CLI, so the output is data from a hostile
source: a line can be gigabytes long and the whole output larger than the disk.
Lines longer than ``max_line`` are cut (the rest of that line is dropped), and after
``max_total`` bytes nothing more is passed on; both are counted for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

MAX_LINE_BYTES = 1024 * 1024
"""A stream-json line of Claude Code carries one message; a megabyte holds any real one."""
MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""More output than this from one run is not read (the rest is still drained, not kept)."""


class LineSplitter:
    """Turns chunks of bytes into decoded lines; `cut_lines` and `dropped_bytes` say what was lost."""

    def __init__(self, max_line: int = MAX_LINE_BYTES, max_total: int = MAX_TOTAL_BYTES) -> None:
        self._max_line, self._max_total = max_line, max_total
        self._parts: list[bytes] = []
        self._size = 0
        self._overlong = False
        self._total = 0
        self.cut_lines = 0
        self.dropped_bytes = 0

    def split(self, chunks: Iterable[bytes]) -> Iterator[str]:
        """Every complete line of ``chunks``, then the unterminated rest."""
        for chunk in chunks:
            yield from self.feed(chunk)
        yield from self.end()

    def feed(self, chunk: bytes) -> Iterator[str]:
        room = self._max_total - self._total
        if room <= 0:
            self.dropped_bytes += len(chunk)
            return
        if len(chunk) > room:
            self.dropped_bytes += len(chunk) - room
            chunk = chunk[:room]
        self._total += len(chunk)
        *complete, rest = chunk.split(b"\n")  # in C: a flood of short lines costs little per line
        if complete:
            self._add(complete[0])
            yield self._take()
        for piece in complete[1:]:
            if len(piece) > self._max_line:
                self.cut_lines += 1
                piece = piece[:self._max_line]
            yield piece.decode("utf-8", errors="replace")
        self._add(rest)

    def end(self) -> Iterator[str]:
        if self._parts or self._overlong:
            yield self._take()

    def _add(self, piece: bytes) -> None:
        room = self._max_line - self._size
        if len(piece) > room:
            self._overlong = True
            piece = piece[:max(room, 0)]
        if piece:
            self._parts.append(piece)
            self._size += len(piece)

    def _take(self) -> str:
        line = b"".join(self._parts).decode("utf-8", errors="replace")
        if self._overlong:
            self.cut_lines += 1
        self._parts, self._size, self._overlong = [], 0, False
        return line
