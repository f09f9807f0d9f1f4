"""The progress comment: one comment per run, posted once and edited in place as the run goes.

`render_progress` is a pure function from a `ProgressState` to Markdown, checked against
golden files. `ProgressComment` owns the comment: it keeps the state, and edits the comment
at most once per `min_interval_s` so a long run stays inside GitHub's limits on
content-creating requests
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits);
the final edit always lands. A progress comment must never fail the run: editing errors
are only reported to a callback.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Callable, Protocol

from codeagent.numbers import format_cost, format_duration
from codeagent.report import code
from codeagent.text import cut, quote

BRANCH_READY = "Branch and draft pull request ready"
AGENT_WORKING = "Agent working"
CHANGES_PUSHED = "Changes pushed"
PR_READY = "Pull request ready for review"
PHASES = (BRANCH_READY, AGENT_WORKING, CHANGES_PUSHED, PR_READY)
"""The checklist, in the order a run goes through it."""

ACTIVITY_LINES = 5
"""How many of the agent's latest activity lines the comment shows."""

RESULTS = ("success", "no-changes", "failure", "limit", "cancelled", "tests-failing")
"""How a run can end; the first three are `workflow.Outcome.result`'s words."""

MAX_BODY = 60_000
"""GitHub refuses comments over 65,536 characters; the agent's words are cut well before."""
MAX_REASON = 20_000

LIMITS = {"max-turns": "turn limit reached", "timeout-minutes": "time limit reached",
          "max-cost-usd": "budget reached"}
"""The inputs whose limit can stop the agent, and how the comment says so."""

MARKER = re.compile(r"<!-- codeagent:progress run=(\S*) -->")
"""The hidden marker that makes a progress comment recognisable, with its run id."""


class Status(Enum):
    """Where a phase of the checklist is."""

    PENDING = "⬜"
    IN_PROGRESS = "🔄"
    DONE = "✅"
    FAILED = "❌"


@dataclass(frozen=True)
class Ending:
    """How the run ended."""

    result: str
    """One of `RESULTS`."""
    reason: str = ""
    """Why it failed (shown for `failure`)."""
    limit: str = ""
    """The input whose limit stopped the agent (`max-turns`, `timeout-minutes`, `max-cost-usd`)."""
    ready: bool = False
    """For `no-changes`: the pull request is open and ready for review (a follow-up that changed nothing)."""
    ignored: tuple[str, ...] = ()
    """For `no-changes`: files the agent changed that the repository's .gitignore covers (never committed)."""


@dataclass(frozen=True)
class ProgressState:
    """Everything the progress comment shows."""

    run_id: str
    run_url: str
    """Link to the workflow run's log, `.../actions/runs/RUN_ID`."""
    phases: tuple[tuple[str, Status], ...] = tuple((name, Status.PENDING) for name in PHASES)
    activity: tuple[str, ...] = ()
    """The agent's latest activity lines, oldest first."""
    elapsed_s: float = 0.0
    turns: int = 0
    cost_usd: float = 0.0
    pull_request_url: str = ""
    notes: tuple[str, ...] = ()
    """Things the person who asked should know (left-out files, comments left out, started workflows)."""
    blocked: tuple[tuple[str, int], ...] = ()
    """Hosts the sandbox tried to reach and the gateway refused, with how often."""
    verification: str = ""
    """The verify gate's line: the test command, before → after."""
    ending: Ending | None = None
    """None while the run goes on."""


def render_progress(state: ProgressState) -> str:
    """The comment's Markdown: marker, headline, checklist, activity, numbers and links."""
    parts = [marker(state.run_id), _headline(state), _checklist(state.phases)]
    if state.verification:
        parts.append(f"**Tests:** {state.verification}")
    if state.blocked:
        parts.append(_blocked(state.blocked))
    if state.notes:
        parts.append("\n".join(f"- {note}" for note in state.notes[:20]))
    if state.activity and (state.ending is None or state.ending.result not in ("success", "no-changes")):
        parts.append(_activity(state.activity, finished=state.ending is not None))
    parts.append(_footer(state))
    body = "\n\n".join(parts) + "\n"
    return body if len(body) <= MAX_BODY else body[:MAX_BODY] + "\n\n…(cut: the comment was too long)\n"


def marker(run_id: str) -> str:
    """`<!-- codeagent:progress run=RUN_ID -->`."""
    return f"<!-- codeagent:progress run={run_id} -->"


def run_id_of(run_url: str) -> str:
    """The run id in `.../actions/runs/RUN_ID`; "" when the URL has none."""
    found = re.search(r"/actions/runs/(\d+)", run_url)
    return found.group(1) if found else ""


def _headline(state: ProgressState) -> str:
    ending, where = state.ending, state.pull_request_url or "the branch"
    if ending is None:
        return "🤖 **codeagent is working on this.** This comment shows its progress."
    reason = cut(ending.reason.strip(), MAX_REASON)
    if ending.result == "success":
        said = f"\n\n{quote(reason)}" if reason else ""
        return f"✅ **Done.** The pull request is ready for review: {where}{said}"
    if ending.result == "no-changes":
        answer = f"\n\nThe agent's answer:\n\n{quote(reason)}" if reason else ""
        if ending.ignored:
            return f"➖ **No changes committed.** {_only_ignored(ending.ignored)}{answer}"
        return f"➖ **No changes.** The agent finished without changing any files.{answer}"
    if ending.result == "tests-failing":
        return (f"🧪 **The tests fail.** The agent's change is pushed to {where}, which stays a draft until they "
                f"pass.\n\n{quote(reason)}" if reason else f"🧪 **The tests fail.** {where} stays a draft.")
    if ending.result == "limit":
        why = LIMITS.get(ending.limit, "limit reached")
        kept = reason or f"What the agent wrote so far is pushed to {where} for you to review or continue."
        return f"⚠️ **Stopped at the `{ending.limit}` limit ({why}).** {kept}"
    if ending.result == "cancelled":
        return f"🛑 **Cancelled.** The run was cancelled; work already pushed stays on {where}."
    said = quote(reason) if reason else "> No reason was given."
    return f"❌ **The run failed.**\n\n{said}\n\nDetails are in [the workflow run's log]({state.run_url})."


def _only_ignored(paths: tuple[str, ...]) -> str:
    shown = ", ".join(code(path) for path in paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return (f"The agent changed only files the repository's `.gitignore` covers ({shown}); they were not "
            "committed and stay only in the runner's checkout.")


def _checklist(phases: tuple[tuple[str, Status], ...]) -> str:
    # Emoji, not task-list checkboxes: a click on a checkbox edits the comment and
    # would race with our own edits.
    return "\n".join(f"- {status.value} {name}" for name, status in phases)


def _activity(lines: tuple[str, ...], finished: bool) -> str:
    """The lines in a code block, so nothing the agent wrote is read as Markdown or HTML."""
    longest_run = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest_run + 1)
    title = "**Last activity**" if finished else "**Latest activity**"
    return f"{title}\n\n{fence}text\n" + "\n".join(lines) + f"\n{fence}"


def _footer(state: ProgressState) -> str:
    """Elapsed time, turns and cost, and the links, on one small line."""
    numbers = [f"⏱️ {format_duration(round(state.elapsed_s * 1000))}"]
    if state.turns or state.cost_usd:
        turns = "1 turn" if state.turns == 1 else f"{state.turns} turns"
        cost = format_cost(state.cost_usd) + (" so far" if state.ending is None else "")
        numbers += [turns, cost]
    links = [f"[pull request]({state.pull_request_url})"] if state.pull_request_url else []
    links.append(f"[workflow run log]({state.run_url})")
    return "<sub>" + " · ".join(numbers + links) + "</sub>"


def _blocked(hosts: tuple[tuple[str, int], ...]) -> str:
    shown = ", ".join(f"`{host}` ×{count}" for host, count in hosts[:10])
    more = f" and {len(hosts) - 10} more" if len(hosts) > 10 else ""
    return (f"🚫 **Blocked:** {shown}{more}. The sandbox may reach only the hosts the `network` input allows; add "
            "a host to `allowed-domains` if the project needs it.")


class CommentPort(Protocol):
    """The part of `GitHubClient` the progress comment uses."""

    def comment(self, number: int, body: str) -> Any: ...

    def edit_comment(self, number: int, comment_id: int, body: str) -> None: ...


class ProgressComment:
    """The run's progress comment: `start` posts it, updates edit it (throttled), `finish` ends it.

    Thread-safe: `activity` is called from the sandbox's streaming thread. An update
    inside the throttle interval only marks the state dirty; a daemon flusher thread
    (or the next update after the interval) sends it, so the last activity of a quiet
    agent still shows within about one interval.
    """

    def __init__(self, github: CommentPort, issue_number: int, run_url: str,
                 clock: Callable[[], float] = time.monotonic, min_interval_s: float = 5.0,
                 on_error: Callable[[str], None] = lambda message: None, background: bool = True) -> None:
        self._github, self._issue_number, self._clock = github, issue_number, clock
        self._interval, self._on_error, self._background = min_interval_s, on_error, background
        self._state = ProgressState(run_id=run_id_of(run_url), run_url=run_url)
        self._lock = threading.Lock()  # guards the state and the fields below
        self._send_lock = threading.Lock()  # one edit at a time, in order
        self._comment_id: int | None = None
        self._started_at = self._last_edit = clock()
        self._dirty = self._finished = False
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """Whether the comment was posted (it then says how the run ended)."""
        return self._comment_id is not None

    @property
    def run_url(self) -> str:
        """Link to the workflow run's log."""
        return self._state.run_url

    def start(self) -> None:
        """Post the comment. GitHub errors propagate: the caller decides whether to go on without it."""
        if self._comment_id is not None:
            return
        with self._lock:
            self._started_at = self._last_edit = self._clock()
            body = self._render()
        self._comment_id = self._github.comment(self._issue_number, body).id
        if self._background:
            self._flusher = threading.Thread(target=self._flush_loop, name="codeagent-progress", daemon=True)
            self._flusher.start()

    def phase(self, name: str, status: Status) -> None:
        """Set the checklist's phase `name` (one of `PHASES`) to `status`."""
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; the phases are {PHASES}")
        self._update(lambda s: replace(s, phases=tuple((n, status if n == name else st) for n, st in s.phases)))

    def activity(self, line: str) -> None:
        """Add one line of what the agent does ("Edited textstats/__init__.py")."""
        line = " ".join(line.split())
        if line:
            self._update(lambda s: replace(s, activity=(*s.activity, line)[-ACTIVITY_LINES:]))

    def stats(self, turns: int, cost_usd: float) -> None:
        """The agent's turns and cost so far."""
        self._update(lambda s: replace(s, turns=turns, cost_usd=cost_usd))

    def pull_request(self, url: str) -> None:
        """Link the pull request once it exists."""
        self._update(lambda s: replace(s, pull_request_url=url))

    def note(self, line: str, replacing: str = "") -> None:
        """Say something the person who asked should know; in place of the note ``replacing``, when it is there."""
        def noted(notes: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(line if n == replacing else n for n in notes) if replacing in notes else (*notes, line)
        self._update(lambda s: replace(s, notes=noted(s.notes)))

    def blocked(self, hosts: tuple[tuple[str, int], ...]) -> None:
        """The hosts the gateway refused."""
        self._update(lambda s: replace(s, blocked=hosts))

    def verification(self, line: str) -> None:
        """The verify gate's result."""
        self._update(lambda s: replace(s, verification=line))

    def finish(self, result: str, reason: str = "", limit: str = "", ready: bool = False,
               ignored: tuple[str, ...] = ()) -> None:
        """Show how the run ended (one of `RESULTS`) now, whatever the throttle, and stop the flusher.

        A phase still in progress becomes done on success or at a limit, failed otherwise.
        """
        if result not in RESULTS:
            raise ValueError(f"unknown result {result!r}; the results are {RESULTS}")
        settled = Status.DONE if result in ("success", "no-changes", "limit", "tests-failing") else Status.FAILED
        with self._lock:
            if self._finished:
                return
            phases = tuple((n, settled if st is Status.IN_PROGRESS else st) for n, st in self._state.phases)
            if ready:
                phases = tuple((n, Status.DONE if n == PR_READY else st) for n, st in phases)
            self._state = replace(self._state, phases=phases, ending=Ending(result, reason, limit, ready, ignored))
            self._dirty = True
        self._send(final=True)
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()

    def __enter__(self) -> ProgressComment:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        """A run that left without `finish` failed; say so, and stop the flusher."""
        self.finish("failure", reason=str(error) if error else "the run ended without a result")

    def _update(self, change: Callable[[ProgressState], ProgressState]) -> None:
        with self._lock:
            if self._finished:
                return
            self._state, self._dirty = change(self._state), True
        # Never block the caller (the streaming thread) behind an edit in flight:
        # the state stays dirty and the flusher sends it.
        self._send(wait=False)

    def _send(self, final: bool = False, wait: bool = True) -> None:
        """Edit the comment if the state changed and the interval has passed (or `final`)."""
        if not self._send_lock.acquire(blocking=wait or final):
            return
        try:
            with self._lock:
                if self._finished or self._comment_id is None or not (self._dirty or final):
                    self._finished = self._finished or final
                    return
                if not final and self._clock() - self._last_edit < self._interval:
                    return
                body, self._dirty, self._finished = self._render(), False, final
                self._last_edit = self._clock()
            self._edit(body)
        finally:
            self._send_lock.release()

    def _edit(self, body: str) -> None:
        if self._comment_id is None:
            return
        try:
            self._github.edit_comment(self._issue_number, self._comment_id, body)
        except Exception as error:  # a progress comment must never fail the run
            self._on_error(f"could not update the progress comment: {error}")

    def _render(self) -> str:
        """The comment for the current state (call with `_lock` held)."""
        return render_progress(replace(self._state, elapsed_s=self._clock() - self._started_at))

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._seconds_to_wait()):
            self._send()

    def _seconds_to_wait(self) -> float:
        """Until the dirty state may be sent; a whole interval when nothing changed."""
        with self._lock:
            if not self._dirty:
                return self._interval
            return max(self._last_edit + self._interval - self._clock(), 0.01)
