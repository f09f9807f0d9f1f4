"""A container's output, as the action reads it: both streams attached before the container starts."""

from __future__ import annotations

import threading
from collections import deque
from typing import Iterator

from codeagent.sandbox.lines import LineSplitter

STDERR_LINES = 20
"""Lines of stderr kept (each cut at 500 characters): what a failure says."""


def attached_stdout(container) -> Iterator[bytes]:
    """The container's stdout, every byte of it, from an attach stream opened before the container starts.

    Not its log: the log is a json-file rotated at a size cap, and under a flood of output that comes
    faster than the action reads it the rotation drops what was not read yet, the CLI's final result
    line with it. An attached reader holds the writer back instead: the container's writes wait while
    the action reads (its wall-clock limit still holds). The attach request is sent when this is called.
    """
    return iter(container.attach(stdout=True, stderr=False, stream=True, logs=False))


class StderrTail:
    """The last lines of the container's stderr, read by a thread of its own from an attach stream opened
    before the container starts. Not from its log: the log is written apart from the container's end, and
    a read right after the end could miss the last lines (seen: 1 run in 8 to 15)."""

    def __init__(self, container) -> None:
        stream = iter(container.attach(stdout=False, stderr=True, stream=True, logs=False))
        self._lines: deque[str] = deque(maxlen=STDERR_LINES)
        self._thread = threading.Thread(target=self._read, args=(stream,), name="codeagent-stderr", daemon=True)
        self._thread.start()

    def _read(self, stream: Iterator[bytes]) -> None:
        try:
            for line in LineSplitter().split(stream):
                self._lines.append(line[:500])
        except Exception:  # noqa: BLE001 (a broken stream ends the tail; the exit code still says how it ended)
            return

    def tail(self, wait_s: float = 5.0) -> tuple[str, ...]:
        """The lines, once the stream has ended (the container's end closes it), or after ``wait_s``."""
        self._thread.join(wait_s)
        return tuple(self._lines)
