"""The verify gate: which command runs the project's tests, and what its output says.

The command is `verify-command` when set, else detected from the project's files as the
default branch has them (never from a branch the agent wrote: the command runs before the
agent too). It runs in the sandbox before the agent (the baseline) and after it; the
result is said in words a reviewer reads: "12 passed → 14 passed".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Literal

from codeagent.sandbox.results import StepResult

VerifyResult = Literal["passed", "failed", "no-tests", "skipped"]

DETECTORS: tuple[tuple[str, Callable[[str], str | None]], ...] = ()
"""Filled below: (file, command-for-its-content) in the order they are tried."""


def detect_command(read: Callable[[str], str | None]) -> tuple[str, str]:
    """(command, why) from the project's files; ("", why not) when none is found."""
    for path, choose in DETECTORS:
        text = read(path)
        if text is not None:
            command = choose(text)
            if command:
                return command, f"detected from `{path}`"
    return "", "no test command found (no pytest/tox/nox, npm test, go.mod, Cargo.toml or `make test`)"


def _package_json(text: str) -> str | None:
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(test, str) or "no test specified" in test:
        return None
    return "npm test"


def _python(marker: str) -> Callable[[str], str | None]:
    def choose(text: str) -> str | None:
        return "python -m pytest -q" if marker in text or marker == "" else None
    return choose


def _makefile(text: str) -> str | None:
    return "make test" if re.search(r"^test\s*:", text, re.MULTILINE) else None


DETECTORS = (
    ("tox.ini", lambda text: "tox" if "[tox]" in text else None),
    ("noxfile.py", lambda text: "nox"),
    ("pytest.ini", _python("")),
    ("pyproject.toml", _python("pytest")),
    ("setup.cfg", _python("[tool:pytest]")),
    ("package.json", _package_json),
    ("go.mod", lambda text: "go test ./..."),
    ("Cargo.toml", lambda text: "cargo test"),
    ("Makefile", _makefile),
)


@dataclass(frozen=True)
class Counts:
    passed: int | None = None
    failed: int | None = None

    def __str__(self) -> str:
        parts = [f"{self.passed} passed" if self.passed is not None else "",
                 f"{self.failed} failed" if self.failed else ""]
        return ", ".join(part for part in parts if part)


_PATTERNS = (
    # pytest: "3 failed, 12 passed in 0.5s"; jest/vitest: "Tests: 1 failed, 14 passed, 15 total";
    # cargo: "test result: ok. 5 passed; 0 failed"; mocha: "14 passing", "1 failing".
    (re.compile(r"(\d+) (?:passed|passing)\b"), "passed"),
    (re.compile(r"(\d+) (?:failed|failing)\b"), "failed"),
)
_NODE = re.compile(r"^(?:#|ℹ) (pass|fail) (\d+)$")
"""node --test's summary, one count a line: "# pass 14" (TAP), "ℹ fail 1" (its spec reporter)."""


def counts(tail: tuple[str, ...]) -> Counts:
    """The test counts the runner printed last, when it prints them."""
    found = {f"{match[1]}ed": int(match[2]) for line in tail if (match := _NODE.match(line.strip()))}
    for line in reversed(tail if not found else ()):
        for pattern, key in _PATTERNS:
            if key not in found and (match := pattern.search(line)):
                found[key] = int(match[1])
        if found:
            break
    go = [line for line in tail if re.match(r"^(ok|FAIL|---)\s", line)]
    if not found and go:
        found = {"passed": sum(line.startswith("ok") for line in go),
                 "failed": sum(line.startswith("FAIL\t") or line.startswith("--- FAIL") for line in go)}
    return Counts(found.get("passed"), found.get("failed"))


@dataclass(frozen=True)
class Verification:
    """The verify gate's account: the command, the baseline, the last result, the rounds used."""

    command: str
    why: str
    before: StepResult | None = None
    after: StepResult | None = None
    rounds: int = 0
    """Extra rounds the agent got to make failing tests pass."""

    @property
    def result(self) -> VerifyResult:
        if not self.command:
            return "no-tests"
        if self.after is None:
            return "skipped"
        return "passed" if self.after.ok else "failed"

    @property
    def broke(self) -> bool:
        """The tests fail after the agent, and its change is to blame: they passed before it, or more of
        them fail now than before (when the runner prints counts)."""
        if self.result != "failed" or self.before is None:
            return False
        if self.before.ok:
            return True
        before, after = counts(self.before.tail).failed, counts(self.after.tail).failed if self.after else None
        return before is not None and after is not None and after > before

    @property
    def failing_before_and_after(self) -> bool:
        """The tests failed before the agent as they do after it: not the agent's doing."""
        return self.result == "failed" and self.before is not None and not self.before.ok and not self.broke

    def line(self) -> str:
        """"✅ tests pass after 2 rounds: `python -m pytest -q` (detected from `pyproject.toml`): 12 passed →
        14 passed"."""
        if not self.command:
            return self.why
        rounds = f" after {self.rounds + 1} rounds" if self.rounds else ""
        verdict = {"passed": "✅ tests pass", "failed": "❌ tests fail", "skipped": "⏭️ tests not run after the agent",
                   "no-tests": ""}[self.result]
        if self.failing_before_and_after:
            verdict = "⚠️ tests failing before and after (not caused by this change)"
        return f"{verdict}{rounds}: `{self.command}` ({self.why}): {_state(self.before)} → {_state(self.after)}"


def _state(step: StepResult | None) -> str:
    """"14 passed", "1 failed, 13 passed (exit 1)", "passed", "timed out"."""
    if step is None:
        return "not run"
    if step.timed_out:
        return "timed out"
    numbers = str(counts(step.tail))
    if step.ok:
        return numbers or "passed"
    return f"{numbers} (exit code {step.exit_code})" if numbers else f"failed (exit code {step.exit_code})"
