"""The progress comment: one comment per run, posted once and edited in place as the run goes.

What it says is `progress_view.render_progress`, a pure function of a `ProgressState`.
`ProgressComment` owns the comment: it keeps the state, and edits the comment
at most once per `min_interval_s` so a long run stays inside GitHub's limits on
content-creating requests
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits);
the final edit always lands. A progress comment must never fail the run: editing errors
are only reported to a callback.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Callable, Protocol

from codeagent.progress_view import (ACTIVITY_LINES, PHASES, PR_READY, RESULTS, Ending, ProgressState, Status,
                                     render_progress, run_id_of)


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
