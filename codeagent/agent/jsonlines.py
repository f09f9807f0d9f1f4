"""What the three CLIs' transcripts share: one JSON object per line, read as it comes.

A line that is not a JSON object (a crash, a warning) is shown as it is and kept for the
report of a CLI that ended without its final line. Each CLI's reader handles the objects by
their ``type``.
"""

from __future__ import annotations

import json
import shlex
from collections import deque
from typing import Any, Callable, Sequence

from codeagent.text import first_line, one_line, relative_to

MAX_SHOWN = 500
"""Longest line of other output shown as it is."""


class JsonLines:
    """Feeds each JSON object of a CLI's output to the handler its ``type`` names."""

    handlers: dict[str, Callable[[Any, dict], list[str]]] = {}

    def __init__(self, workspace: str = "") -> None:
        self.workspace = workspace
        """Directory the agent works in; paths under it are logged relative."""
        self.session_id = ""
        self._other_lines: deque[str] = deque(maxlen=20)

    def feed(self, line: str) -> list[str]:
        """Take one line of the CLI's output; return what to show in the log for it."""
        line = line.strip()
        if not line:
            return []
        try:  # only a line that starts with "{" can be an object: a flood of other lines skips the parser
            message = json.loads(line) if line.startswith("{") else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._other_lines.append(line[:MAX_SHOWN])
            return [line[:MAX_SHOWN]]
        handler = self.handlers.get(str(message.get("type")))
        return handler(self, message) if handler else []

    def other_output(self, stderr: Sequence[str] = ()) -> str:
        """The last lines that were not JSON, then the error output's last lines."""
        return "\n".join([*self._other_lines, *stderr][-20:])

    def said(self, stderr: Sequence[str], text: str) -> bool:
        """Whether ``text`` is in any line that was not JSON, or in the error output."""
        return any(text in line for line in [*self._other_lines, *stderr])

    def path(self, value: Any) -> str:
        """A path as the log shows it: relative to the workspace when inside it."""
        return relative_to(str(value or "."), self.workspace)


def as_dict(value: Any) -> dict:
    """``value`` when it is a JSON object, else an empty one (the CLI's output is not trusted to be well formed)."""
    return value if isinstance(value, dict) else {}


def readable(message: Any) -> str:
    """An error as a CLI says it; an API's error body it passes on whole (``{"error": {"message": …}}``,
    Gemini CLI's ``[API Error: {…}]``) read for its message."""
    text = str(message or "")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return text
    try:
        body = json.loads(text[start:end + 1])
    except ValueError:
        return text
    inner = as_dict(as_dict(body).get("error")).get("message")
    return str(inner) if inner else text


def shell_command(command: Any) -> str:
    """The command the model asked for, without the ``/bin/bash -lc '…'`` a CLI wraps it in."""
    text = str(command or "")
    try:
        words = shlex.split(text)
    except ValueError:
        return text
    if len(words) == 3 and words[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh") and words[1] in ("-lc", "-c"):
        return words[2]
    return text


def ran(command: Any) -> str:
    """"Ran `pytest -q`": one line for a shell command."""
    return f"Ran `{first_line(shell_command(command), 120)}`"


def said_by(agent: str, text: Any) -> str:
    """"Codex: …": the first 200 characters of what the model said, on one line."""
    return f"{agent}: {one_line(str(text or ''), 200)}"
