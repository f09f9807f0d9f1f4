"""A container's output, as the action reads it."""

from __future__ import annotations

from collections import deque
from typing import Iterator


def attached_stdout(container) -> Iterator[bytes]:
    """The container's stdout, every byte of it, from an attach stream opened before the container starts.

    Not its log: the log is a json-file rotated at a size cap, and under a flood of output that comes
    faster than the action reads it the rotation drops what was not read yet, the CLI's final result
    line with it. An attached reader holds the writer back instead: the container's writes wait while
    the action reads (its wall-clock limit still holds). The attach request is sent when this is called.
    """
    return iter(container.attach(stdout=True, stderr=False, stream=True, logs=False))


def stderr_tail(container, lines: int = 20) -> tuple[str, ...]:
    text = container.logs(stdout=False, stderr=True, tail=lines).decode("utf-8", "replace")
    return tuple(line[:500] for line in deque(text.splitlines(), maxlen=lines))
