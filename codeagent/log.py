"""The action's log: workflow commands the runner understands, and nothing else.

Thin on purpose: actions-toolkit writes the commands; this adds a ``group``
context manager so each phase of a run folds in the log.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from actions_toolkit import core


class Log:
    """Groups, lines and annotations; remembers how long each group took."""

    def __init__(self) -> None:
        self.phase_seconds: dict[str, float] = {}

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold everything logged inside into a group named ``title``."""
        core.start_group(title)
        started = time.monotonic()
        try:
            yield
        finally:
            self.phase_seconds[title] = round(time.monotonic() - started, 1)
            core.end_group()

    def info(self, line: str) -> None:
        core.info(line)

    def debug(self, line: str) -> None:
        core.debug(line)

    def warning(self, message: str) -> None:
        core.warning(message)

    def error(self, message: str, title: str = "") -> None:
        """An ``::error::`` annotation, with a title when given."""
        if title:
            core.error(message, title=title)
        else:
            core.error(message)

    def mask(self, secret: str) -> None:
        """Never show ``secret`` in the log (``::add-mask::``)."""
        core.set_secret(secret)

    def is_debug(self) -> bool:
        return core.is_debug()
