"""Claude Code, run in the sandbox container: command, environment, limits, transcript."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Protocol

from codeagent.agent.claude import AgentResult, Transcript, claude_command
from codeagent.errors import SandboxError
from codeagent.log import Log
from codeagent.sandbox import CLI_DIR, Sandbox, SandboxExit, SandboxSpec
from codeagent.settings import Settings

class Progress(Protocol):
    """Where the agent's activity shows while it works (the progress comment)."""

    def activity(self, line: str) -> None: ...

    def stats(self, turns: int, cost_usd: float) -> None: ...


SANDBOX_HOME = "/tmp/codeagent-home"
"""HOME of the agent inside the sandbox: writable by any uid, gone with the container."""


@dataclass(frozen=True)
class AgentRun:
    """What the agent did and how its container ended."""

    result: AgentResult
    exit: SandboxExit
    budget_reached: bool
    transcript_path: str = ""
    """The stream-json transcript, as a path on the runner (for actions/upload-artifact)."""

    @property
    def limit(self) -> str:
        """The input whose limit stopped the agent, or "" when none did."""
        if self.exit.timed_out:
            return "timeout-minutes"
        if self.budget_reached:
            return "max-cost-usd"
        return self.result.limit or ""

    @property
    def problem(self) -> str:
        """Why the run is not a clean success, in one sentence; "" when it is."""
        if self.limit == "max-cost-usd":
            return "stopped at the limit `max-cost-usd` (budget reached)"
        if self.limit:
            return f"stopped at the limit `{self.limit}`"
        if self.exit.oom_killed:
            return "the sandbox ran out of memory (`sandbox-memory`)"
        if self.result.is_error:
            tail = "\n".join(self.exit.stderr_tail[-10:])
            detail = f"; last lines of its output:\n{tail}" if tail else ""
            return f"Claude Code failed ({self.result.subtype}, exit code {self.exit.exit_code}){detail}"
        return ""


def sandbox_env(settings: Settings, uid: int) -> dict[str, str]:
    """The sandbox's whole environment: the Anthropic key and switches, nothing of ours."""
    env = {
        "ANTHROPIC_API_KEY": settings.anthropic_api_key.get_secret_value(),
        "HOME": SANDBOX_HOME,
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    if uid == 0:
        # Only when the checkout belongs to root (some self-hosted runners): Claude Code
        # refuses bypassPermissions as root unless told it is in a sandbox, which it is.
        env["IS_SANDBOX"] = "1"
    return env


class SandboxedClaude:
    """Runs Claude Code headless in a sibling container on the checkout."""

    def __init__(self, sandbox: Callable[[], Sandbox], settings: Settings, workdir: Path, owner: tuple[int, int],
                 log: Log, transcript_file: Path | None = None, labels: dict[str, str] | None = None) -> None:
        self._make_sandbox = sandbox
        self._sandbox: Sandbox | None = None
        self._settings = settings
        self._workdir = workdir
        self._owner = owner
        self._log = log
        self._transcript_file = transcript_file
        self._labels = labels or {}

    def preflight(self) -> None:
        """Connect to the Docker engine now, so a runner without one fails before any branch exists."""
        if self._sandbox is None:
            self._sandbox = self._make_sandbox()

    def run(self, prompt: str, progress: Progress | None = None) -> AgentRun:
        """Run the agent on ``prompt`` until it ends or a limit stops it; report activity to ``progress``."""
        self.preflight()
        transcript = Transcript(workspace=str(self._workdir))
        budget = self._settings.max_cost_usd

        def budget_reached() -> bool:
            return budget is not None and transcript.cost_so_far >= budget

        with _open_or_none(self._transcript_file) as record:
            on_line = self._line_handler(transcript, record, progress)
            exit_ = self._sandbox.run(self._spec(prompt), on_line, should_stop=budget_reached)
        return AgentRun(result=transcript.result(), exit=exit_, budget_reached=budget_reached(),
                        transcript_path=self._transcript_host_path())

    def _spec(self, prompt: str) -> SandboxSpec:
        settings, (uid, gid) = self._settings, self._owner
        command = claude_command(
            prompt, cli=f"{CLI_DIR}/claude", model=settings.model, max_turns=settings.max_turns,
            allowed_tools=settings.allowed_tools, max_cost_usd=settings.max_cost_usd,
        )
        return SandboxSpec(
            command=command, workdir=str(self._workdir), env=sandbox_env(settings, uid),
            user=f"{uid}:{gid}", image=settings.sandbox_image,
            memory=settings.sandbox_memory, cpus=settings.sandbox_cpus, pids=settings.sandbox_pids,
            timeout_s=settings.timeout_minutes * 60, labels=self._labels,
        )

    def _line_handler(self, transcript: Transcript, record: IO[str] | None,
                      progress: Progress | None) -> Callable[[str], None]:
        """What happens to each stream-json line: file, log (raw too with step debug), progress."""
        debug = self._log.is_debug()

        def on_line(line: str) -> None:
            if record:
                record.write(line + "\n")
                record.flush()
            if debug:
                self._log.debug(line)
            texts = transcript.feed(line)
            for text in texts:
                self._log.info(text)
                if progress:
                    progress.activity(text)
            if progress and texts:
                progress.stats(transcript.turns_so_far, transcript.cost_so_far)

        return on_line

    def _transcript_host_path(self) -> str:
        """Where a later step of the job (on the runner itself) finds the transcript."""
        if self._transcript_file is None or self._sandbox is None:
            return ""
        try:
            return self._sandbox.host_path(str(self._transcript_file))
        except SandboxError:
            return str(self._transcript_file)


def _open_or_none(path: Path | None):
    """The transcript file to write, or a context that yields None."""
    if path is None:
        return nullcontext()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")
