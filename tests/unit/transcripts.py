"""Feeding a CLI's transcript reader (Claude Code, Codex, Gemini CLI) in the tests of each."""

from __future__ import annotations

import json
from typing import Protocol, TypeVar

from tests.unit.golden import FIXTURES


class Reader(Protocol):
    def feed(self, line: str) -> list[str]: ...


R = TypeVar("R", bound=Reader)


def read_recorded(transcript: R, name: str) -> tuple[R, list[str]]:
    """Feed the recorded transcript ``name``; the reader and every log line it produced."""
    log: list[str] = []
    for line in (FIXTURES / "transcripts" / f"{name}.jsonl").read_text().splitlines():
        log += transcript.feed(line)
    return transcript, log


def feed_messages(transcript: R, *messages: object) -> R:
    """Feed ``messages``, each a line as it is or an object as its JSON."""
    for message in messages:
        transcript.feed(message if isinstance(message, str) else json.dumps(message))
    return transcript
