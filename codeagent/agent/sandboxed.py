"""Claude Code, run in the sandbox container: command, environment, limits, transcript."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Protocol

from codeagent.agent.api_check import check_api_key
from codeagent.agent.claude import AgentResult, Transcript, claude_command
from codeagent.agent.sessions import could_not_resume, pack_session, unpack_session
from codeagent.errors import SandboxError
from codeagent.log import Log
from codeagent.sandbox import CLI_DIR, Sandbox, SandboxExit, SandboxSpec
from codeagent.settings import Settings

class Progress(Protocol):
    """Where the agent's activity shows while it works (the progress comment)."""

    def activity(self, line: str) -> None: ...

    def stats(self, turns: int, cost_usd: float) -> None: ...


BUDGET_GRACE_S = 30.0
"""How long Claude Code may go on once the estimated cost passed `max-cost-usd` before the
sandbox is killed: it stops itself at the budget (--max-budget-usd), but only between turns."""

SANDBOX_HOME = "/tmp/codeagent-home"
"""HOME of the agent inside the sandbox: a directory of the run's state, mounted there."""


@dataclass(frozen=True)
class AgentRun:
    """What the agent did and how its container ended."""

    result: AgentResult
    exit: SandboxExit
    budget_reached: bool
    """The action stopped the agent because its estimated cost passed `max-cost-usd` (Claude Code did not)."""
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
                 log: Log, state_dir: Path, labels: dict[str, str] | None = None) -> None:
        """``state_dir``: a directory of this run on a volume the runner mounted (under
        /github/home): the transcript file and the agent's HOME (its session) go there."""
        self._make_sandbox = sandbox
        self._sandbox: Sandbox | None = None
        self._settings = settings
        self._workdir = workdir
        self._owner = owner
        self._log = log
        self._transcript_file = state_dir / "transcript.jsonl"
        self._home = state_dir / "home"
        self._labels = labels or {}

    def restore(self, note: str | None) -> str | None:
        """Put a session kept from an earlier run into the agent's HOME; its id, or None."""
        session_id = unpack_session(self._home, note)
        _give_to(self._home, *self._owner)
        return session_id

    def session_note(self, run: AgentRun) -> str | None:
        """The agent's session packed for the next run (secrets blanked), or None."""
        return pack_session(self._home, str(self._workdir), run.result.session_id, self._settings.secrets())

    def preflight(self) -> None:
        """Connect to the Docker engine and check the Anthropic key now, so that a runner without
        Docker or a wrong key fails before any branch exists."""
        if self._sandbox is not None:
            return
        self._sandbox = self._make_sandbox()
        self._log.info(check_api_key(self._settings.anthropic_api_key.get_secret_value(),
                                     self._settings.anthropic_base_url))

    def run(self, prompt: str, progress: Progress | None = None, resume: str | None = None) -> AgentRun:
        """Run the agent on ``prompt`` until it ends or a limit stops it; report activity to ``progress``.

        With ``resume``, the kept session continues; when Claude Code cannot find it,
        a fresh session starts instead (the prompt carries the whole thread either way).
        """
        agent_run = self._run_once(prompt, progress, resume)
        if resume and could_not_resume(agent_run.result.error):
            self._log.warning(f"could not resume session {resume}; starting a fresh session")
            agent_run = self._run_once(prompt, progress, None)
        return agent_run

    def _run_once(self, prompt: str, progress: Progress | None, resume: str | None) -> AgentRun:
        if self._sandbox is None:
            self._sandbox = self._make_sandbox()
        _give_to(self._home, *self._owner)
        transcript = Transcript(workspace=str(self._workdir))
        over_budget = _BudgetBackstop(self._settings.max_cost_usd, lambda: transcript.cost_so_far)

        with self._transcript_file.open("a", encoding="utf-8") as record:
            on_line = self._line_handler(transcript, record, progress)
            exit_ = self._sandbox.run(self._spec(prompt, resume), on_line, should_stop=over_budget)
        return AgentRun(result=transcript.result(), exit=exit_, budget_reached=over_budget.tripped,
                        transcript_path=self._transcript_host_path())

    def _spec(self, prompt: str, resume: str | None) -> SandboxSpec:
        settings, (uid, gid) = self._settings, self._owner
        command = claude_command(
            prompt, cli=f"{CLI_DIR}/claude", model=settings.model, max_turns=settings.max_turns,
            allowed_tools=settings.allowed_tools, max_cost_usd=settings.max_cost_usd, resume_session=resume,
        )
        return SandboxSpec(
            command=command, workdir=str(self._workdir), env=sandbox_env(settings, uid),
            user=f"{uid}:{gid}", image=settings.sandbox_image,
            memory=settings.sandbox_memory, cpus=settings.sandbox_cpus, pids=settings.sandbox_pids,
            tmp_size=settings.sandbox_tmp_size,
            timeout_s=settings.timeout_minutes * 60, labels=self._labels,
            home=(str(self._home), SANDBOX_HOME),
        )

    def _line_handler(self, transcript: Transcript, record: IO[str],
                      progress: Progress | None) -> Callable[[str], None]:
        """What happens to each stream-json line: file, log (raw too with step debug), progress."""
        debug = self._log.is_debug()

        def on_line(line: str) -> None:
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
        if self._sandbox is None:
            return ""
        try:
            return self._sandbox.host_path(str(self._transcript_file))
        except SandboxError:
            return str(self._transcript_file)


class _BudgetBackstop:
    """``should_stop`` for the sandbox: true once the estimate stayed over the budget for the grace period.

    Claude Code's own stop is the one that counts (its result carries the exact cost); this
    only ends a run whose CLI did not stop, e.g. in one very long turn.
    """

    def __init__(self, budget: float | None, cost: Callable[[], float], clock=time.monotonic) -> None:
        self._budget, self._cost, self._clock = budget, cost, clock
        self._over_since: float | None = None
        self.tripped = False

    def __call__(self) -> bool:
        if self._budget is None or self._cost() < self._budget:
            return False
        if self._over_since is None:
            self._over_since = self._clock()
        self.tripped = self._clock() - self._over_since >= BUDGET_GRACE_S
        return self.tripped


def _give_to(directory: Path, uid: int, gid: int) -> None:
    """Create ``directory`` (the agent's HOME) and hand it and its content to the agent's user."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)
