"""What every agent CLI provides, and what one run of it came to.

An agent CLI (Claude Code, Codex, Gemini CLI) is a command line, a few config files in its
HOME and a transcript format; `codeagent.sandbox.workbench` runs any of them the same way,
in the sandbox, through the gateway. The workflow, the progress comment, the summary and
the outputs never know which one ran.

What a run came to is told by two witnesses of different trust. The gateway (the action's
own, `codeagent.gateway`) saw every model call: tokens, turns, cost, the budget, the model's
last words. The CLI's transcript comes through the sandbox's stdout, which the agent can
write to as well: it is believed only for what cannot mislead (a session id to resume, the
words of an error) and only when it agrees with how the CLI's process ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

from codeagent.gateway import Usage
from codeagent.sandbox.engine import SandboxExit
from codeagent.text import inert_references

SESSION_ID = re.compile(r"[0-9A-Za-z_-]{8,80}")
"""What a session id may look like; anything else from the transcript is ignored."""


@dataclass(frozen=True)
class CliResult:
    """What the CLI's output said at its end (untrusted: see the module's docstring)."""

    session_id: str = ""
    finished: bool = False
    """It printed a final result that says the task is done."""
    error: str = ""
    """Why it says it failed, in its words."""
    said_limit: str = ""
    """The limit it says stopped it (``max-turns``, ``max-cost-usd``), if any."""
    no_session: bool = False
    """It could not find the session it was asked to resume."""


class Transcript(Protocol):
    """Reads a CLI's output line by line."""

    def feed(self, line: str) -> list[str]:
        """Take one line; return what to show in the log for it (plain words, one line each)."""
        ...

    def result(self, stderr: Sequence[str] = ()) -> CliResult:
        """What the CLI said at its end; ``stderr``: the last lines of its error output."""
        ...


@dataclass(frozen=True)
class LaunchRequest:
    """What the workflow asks of one run of the agent."""

    prompt: str
    model: str
    max_turns: int
    base_url: str
    """The model API as the sandbox reaches it: the gateway, through the forwarder."""
    cli_dir: str
    home: str
    workspace: str
    allowed_tools: tuple[str, ...] = ()
    max_cost_usd: float | None = None
    resume: str | None = None
    vendor_web_search: bool = False
    """The model API's own web search may be offered: the run's network is `open` (else the gateway refuses
    a call that offers it, `codeagent.gateway.call_body`)."""


@dataclass(frozen=True)
class Launch:
    """How to start the CLI: its command line, its environment, the files it reads in HOME."""

    command: list[str]
    env: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    """Path relative to HOME -> content."""


class AgentCli(Protocol):
    """One agent CLI: Claude Code, Codex or Gemini CLI.

    Its files are ``<cli_dir>/<name>`` (a file or a directory) in every image that carries it.
    """

    name: str
    """The `agent` input's value: ``claude``, ``codex``, ``gemini``."""
    title: str
    """How people call it: "Claude Code"."""
    vendor: str
    """Its model API, as the gateway knows it: ``anthropic``, ``openai``, ``google``."""
    default_model: str
    placeholder_key: str
    """What the sandbox holds instead of the real key."""

    def launch(self, request: LaunchRequest) -> Launch:
        ...

    def transcript(self, workspace: str) -> Transcript:
        ...

    def session_note(self, home: Path, workspace: str, session_id: str) -> str | None:
        """The CLI's session packed for the next run on the branch, or None when it keeps none."""
        ...

    def restore_session(self, home: Path, note: str | None) -> str | None:
        """Put a kept session back where the CLI looks; its id, or None."""
        ...


@dataclass(frozen=True)
class AgentRun:
    """One run of the agent: the gateway's account, how the sandbox ended, what the CLI said."""

    agent: str
    """The CLI's title, for messages."""
    usage: Usage
    exit: SandboxExit
    cli: CliResult
    max_turns: int
    transcript_path: str = ""
    """The CLI's output as a path on the runner (for actions/upload-artifact)."""

    @property
    def limit(self) -> str:
        """The input whose limit stopped the agent, or "" when none did."""
        if self.exit.timed_out:
            return "timeout-minutes"
        if self.usage.budget_reached:
            return "max-cost-usd"
        if not self.clean_exit and (self.usage.turns >= self.max_turns or self.usage.calls_limit_reached):
            return "max-turns"  # the limit on all model calls is three per turn of it
        return ""

    @property
    def clean_exit(self) -> bool:
        return self.exit.exit_code == 0 and not self.exit.oom_killed

    @property
    def succeeded(self) -> bool:
        """The CLI ended on its own, said it finished, and no limit stopped it."""
        return self.clean_exit and self.cli.finished and not self.limit

    @property
    def problem(self) -> str:
        """Why the run is not a clean success, in one sentence; "" when it is."""
        if self.limit == "max-cost-usd":
            return "stopped at the limit `max-cost-usd` (budget reached)"
        if self.limit:
            return f"stopped at the limit `{self.limit}`"
        if self.exit.oom_killed:
            return "the sandbox ran out of memory (`sandbox-memory`)"
        if self.succeeded:
            return ""
        error = self.cli.error or (self.usage.upstream_errors[-1] if self.usage.upstream_errors else "")
        tail = "\n".join(self.exit.stderr_tail[-10:])
        detail = f": {error}" if error else ""
        output = f"; last lines of its output:\n{tail}" if tail and not error else ""
        return inert_references(f"{self.agent} failed (exit code {self.exit.exit_code}){detail}{output}")

    @property
    def summary(self) -> str:
        """The model's closing words, as the gateway saw them, unable to mention anyone or close an issue."""
        return inert_references(self.usage.last_text)

    @property
    def session_id(self) -> str:
        return self.cli.session_id if SESSION_ID.fullmatch(self.cli.session_id or "") else ""
