"""The action's log: workflow commands the runner obeys, and lines it must never take for one.

Much of what the action logs carries the agent's words (a command it ran, a file it wrote,
its summary). The runner treats a line as a command when, after leading whitespace, it
starts with ``::``, and anywhere in a line that holds ``##[`` (actions/runner
ActionCommandManager); it splits lines at ``\\n`` and at a lone ``\\r``. So every line of
text is split here the way the runner would split it, a line that would start a command
gets a visible prefix, and ``##[`` is broken up. Only this module writes the commands.

Written here instead of with actions-toolkit (unmaintained since 2022): the stream must be
injectable for tests, and the escaping of untrusted text is the point of the module.
"""

from __future__ import annotations

import sys
import time
import unicodedata
from contextlib import contextmanager
from typing import IO, Iterator

LINE_LIMIT = 4000
"""Longest log line written; the runner keeps longer ones, but nobody reads them."""


class Log:
    """Groups, lines and annotations on ``stream``; remembers how long each group took."""

    def __init__(self, stream: IO[str] | None = None, debug: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._debug = debug
        self._masked: set[str] = set()
        self.phase_seconds: dict[str, float] = {}

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold everything logged inside into a group named ``title``."""
        self._command("group", title)
        started = time.monotonic()
        try:
            yield
        finally:
            self.phase_seconds[title] = round(time.monotonic() - started, 1)
            self._command("endgroup", "")

    def info(self, text: str) -> None:
        """Plain lines; none of them can be taken for a workflow command."""
        for line in safe_lines(text):
            self._write(line)

    def debug(self, text: str) -> None:
        """Lines shown only with step debug logging (``ACTIONS_STEP_DEBUG``)."""
        if self._debug:
            for line in safe_lines(text):
                self._command("debug", line)

    def is_debug(self) -> bool:
        return self._debug

    def warning(self, message: str) -> None:
        self._command("warning", message)

    def error(self, message: str, title: str = "") -> None:
        """An ``::error::`` annotation, with a title when given."""
        self._command("error", message, {"title": title} if title else None)

    def mask(self, secret: str) -> None:
        """Never show ``secret`` in the log (``::add-mask::``), each of its lines too."""
        lines = secret.splitlines()
        for line in [secret, *lines] if len(lines) > 1 else [secret]:
            if line.strip() and line not in self._masked:
                self._masked.add(line)
                self._write(f"::add-mask::{escape_data(line)}")

    def _command(self, name: str, message: str, properties: dict[str, str] | None = None) -> None:
        props = ",".join(f"{key}={escape_property(value)}" for key, value in (properties or {}).items())
        self._write(f"::{name}{' ' + props if props else ''}::{escape_data(defuse(message))}")

    def _write(self, line: str) -> None:
        # Bytes that are not UTF-8 (a file name the agent made) are shown escaped, never a crash.
        line = line[:LINE_LIMIT].encode("utf-8", "backslashreplace").decode("utf-8")
        self._stream.write(line + "\n")
        self._stream.flush()


def safe_lines(text: str) -> list[str]:
    """``text`` as the runner would split it into lines, each made inert as a command."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [_inert(defuse(line)) for line in lines]


def defuse(text: str) -> str:
    """Break up ``##[``, which the runner finds anywhere in a line."""
    return text.replace("##[", "#\u200b#[")


def _inert(line: str) -> str:
    start = 0
    while start < len(line) and (line[start].isspace() or unicodedata.category(line[start]) in _BLANK):
        start += 1  # whatever the runner's trim might take for whitespace, and invisible characters
    return f"| {line}" if line.startswith("::", start) else line


_BLANK = ("Zs", "Zl", "Zp", "Cf", "Cc")


def escape_data(value: str) -> str:
    """A command's message: the runner's escaping of ``%``, ``\\r`` and ``\\n``."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A command's property value: the message's escaping, plus ``:`` and ``,``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
