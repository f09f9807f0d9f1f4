"""How a project command (setup, tests) ended in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepResult:
    """A setup or test command's end: its exit, and the last lines of its output."""

    command: str
    exit_code: int | None
    timed_out: bool
    tail: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out
