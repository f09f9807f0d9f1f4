"""Two runs never work on one branch at once: a lock on the branch, kept as a ref on the server.

A run takes `refs/codeagent/locks/<branch>` before it touches the branch and deletes it when
it ends, also when it fails or is cancelled (`Run.execute`'s `finally`). Taking it is one push
that may only create the ref (`--force-with-lease=<ref>:`, "must not exist"), so of two runs
that try at once exactly one wins, on GitHub as on any git server. The ref points at an empty
commit whose message says who holds it: the run, when it took the lock, how long it may hold
it at most.

Why not the workflow's `concurrency` group alone: the group cannot name the branch (a pull
request's number is not its issue's, and `/code` on issue 7 and on its pull request 8 work on
one branch), and without `queue: max` (GitHub Enterprise Server) GitHub keeps one pending run
per group and cancels the one before it
(https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/control-the-concurrency-of-workflows-and-jobs).

A run that finds the lock held waits, polling with backoff, and says so in its progress
comment; it waits at most its own `timeout-minutes`. A lock older than its holder's limit
belongs to a run that ended without letting go (its runner lost, its job killed): it is
taken over, with a note. So is one left by an earlier attempt of the same workflow run
(GitHub re-runs a job only after the run completed).
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Protocol

from codeagent.errors import BranchBusy, CodeagentError, RefRefused
from codeagent.numbers import format_duration

if TYPE_CHECKING:
    from codeagent.ports import Branches

LOCKS_REF = "refs/codeagent/locks/"
"""Prefix of a branch's lock ref; the branch name follows."""
FIRST_POLL_S = 2.0
MAX_POLL_S = 30.0
BACKOFF = 1.5
"""Polls of a held lock: 2 s apart at first, then 1.5 times longer each time, at most 30 s."""
RENEW_AFTER_S = 60.0
"""A renewal sooner than this after the lock was last written is not pushed (it would move the
lock's limit by less): a holder's limit counts this much more, so it is never shorter for it."""
_RUN_ID = re.compile(r"[\w.-]{1,64}")
_URL = re.compile(r"(https?://[^\s()<>\[\]]+)?")


LOCK_MARGIN_S = 10 * 60.0
"""What a run holding a branch may spend beyond its agent and its commands (git, the API and its retries)."""


def holding_limit_s(agent_s: float, commands_s: float) -> float:
    """The longest a run may hold its branch between two writes of its lock: its agent's and its commands'
    time, the margin, and the minute a renewal may be left out (`RENEW_AFTER_S`)."""
    return agent_s + commands_s + LOCK_MARGIN_S + RENEW_AFTER_S


def lock_ref(branch: str) -> str:
    return LOCKS_REF + branch


@dataclass(frozen=True)
class LockHolder:
    """Who holds a branch: written into the lock's commit message, read back by the runs that wait."""

    run_id: str
    run_url: str
    taken_at: float
    """When the lock was taken, in seconds since the epoch."""
    limit_s: float
    """The longest the holder can work (its limits added up): past it, the lock is stale."""
    attempt: str = "1"
    """The workflow run's attempt (`GITHUB_RUN_ATTEMPT`): a re-run keeps the run id."""

    def message(self) -> str:
        taken = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.taken_at))
        return (f"codeagent: run {self.run_id} works on this branch\n\nrun: {self.run_id}\nattempt: {self.attempt}\n"
                f"url: {self.run_url}\ntaken: {taken}\nlimit-seconds: {round(self.limit_s)}\n")

    @classmethod
    def parse(cls, message: str) -> LockHolder | None:
        """The holder a lock's message names; None when it is not a message `message` wrote."""
        fields = dict(line.split(": ", 1) for line in message.splitlines() if ": " in line)
        if not _RUN_ID.fullmatch(fields.get("run", "")) or not _URL.fullmatch(fields.get("url", "")):
            return None  # what a progress comment would show of it must be a plain run id and link
        try:
            taken = calendar.timegm(time.strptime(fields["taken"], "%Y-%m-%dT%H:%M:%SZ"))
            return cls(fields["run"], fields["url"], taken, float(fields["limit-seconds"]), fields.get("attempt", "1"))
        except (KeyError, ValueError, OverflowError):
            return None

    def stale(self, now: float) -> bool:
        return now > self.taken_at + self.limit_s

    def describe(self) -> str:
        """"run [123](url) (started 14:03 UTC)"."""
        started = time.strftime("%H:%M UTC", time.gmtime(self.taken_at))
        run = f"[{self.run_id}]({self.run_url})" if self.run_url else self.run_id
        return f"run {run} (started {started})"


@dataclass(frozen=True)
class HeldLock:
    """A branch's lock as it is on the server."""

    sha: str
    """The lock's commit: a takeover or a release must find the ref still there."""
    holder: LockHolder | None
    """None when its message does not say who holds it."""


class Notes(Protocol):
    """Where the person who asked reads about the wait: the progress comment."""

    def note(self, line: str, replacing: str = "") -> None: ...


class Clock(Protocol):
    """The time a wait is measured in, and the wait itself (tests pass their own)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class BranchLock:
    """One run's hold on ``branch``: `acquire` waits for it and takes it, `release` lets go."""

    def __init__(self, branches: Branches, branch: str, me: LockHolder, notes: Notes, log: Callable[[str], None],
                 clock: Clock | None = None) -> None:
        self.branches, self.branch, self.me, self.notes, self.log = branches, branch, me, notes, log
        self.clock = clock or SystemClock()
        self.sha: str | None = None
        """The lock's commit while this run holds it."""
        self.written_at = 0.0
        """When this run last wrote the lock (took or renewed it)."""
        self.waited_for: list[LockHolder] = []
        self._said = ""

    def acquire(self, wait_s: float) -> bool:
        """Take the lock, waiting at most ``wait_s`` for its holder; True when this run had to wait.

        Raises `BranchBusy` when the holder still works after ``wait_s``, and a `GitError` when the
        server cannot be reached. A server that refuses the lock ref itself (a hook or a rule, not a
        lost race) leaves the run to go on without it, with a note.
        """
        started, delay = self.clock.now(), FIRST_POLL_S
        try:
            while not self._attempt():
                waited = self.clock.now() - started
                if waited >= wait_s:
                    raise self._busy(waited)
                self.clock.sleep(min(delay, wait_s - waited))
                delay = min(delay * BACKOFF, MAX_POLL_S)
        except RefRefused as error:
            self.log(f"could not take the lock on {self.branch}: {error}")
            self._say(f"Could not take the lock on `{self.branch}`, so another run could work on it at the same "
                      f"time: {error}")
            return False
        if self.waited_for:
            self._say(f"Waited {format_duration(round((self.clock.now() - started) * 1000))} for "
                      f"{_and(h.describe() for h in self.waited_for)} to finish working on `{self.branch}`.")
        self.log(f"holding {lock_ref(self.branch)}")
        return bool(self.waited_for)

    def release(self) -> None:
        """Let go of the lock, if this run holds it; a failure is logged, never raised over the run's outcome."""
        if self.sha is None:
            return
        sha, self.sha = self.sha, None
        try:
            if not self.branches.release_lock(self.branch, sha):
                self.log(f"the lock on {self.branch} was taken over by another run meanwhile")
        except Exception as error:  # noqa: BLE001 (the run is over: its outcome must still be reported)
            self.log(f"could not release {lock_ref(self.branch)}: {error}; the next run takes it over once it is "
                     f"older than {format_duration(round(self.me.limit_s * 1000))}")

    def renew(self) -> None:
        """Say again that this run holds the branch, its limit counting from now: called as the run enters
        a long phase, so a run whose image build or setup took long is not taken for one that ended
        without letting go. Within `RENEW_AFTER_S` of the last write it is not pushed. A renewal that
        fails is logged; the run goes on (its pushes are leased)."""
        if self.sha is None or self.clock.now() - self.written_at < RENEW_AFTER_S:
            return
        try:
            self.sha = self._write(self.sha)
        except CodeagentError as error:
            self.log(f"could not renew {lock_ref(self.branch)}: {error}")
            return
        if self.sha is None:
            self.log(f"the lock on {self.branch} was taken over by another run meanwhile")

    def _attempt(self) -> bool:
        """One try: take the free lock, or a stale one; otherwise note who holds it. True when taken."""
        if self._take(None):
            return True
        held = self.branches.read_lock(self.branch)
        if held is None:  # let go of between our push and our read: try again at once
            return self._take(None)
        takeover = self._takeover_note(held.holder)
        if takeover:
            if not self._take(held.sha):
                return False
            self._say(takeover)
            self.log(takeover)
            return True
        assert held.holder is not None
        if not self.waited_for or self.waited_for[-1] != held.holder:
            self.waited_for.append(held.holder)
            self.log(f"waiting for run {held.holder.run_id} ({held.holder.run_url}), which holds {self.branch}")
            self._say(f"⏳ Waiting for {held.holder.describe()} to finish: it is working on `{self.branch}`, and "
                      "two runs never work on one branch at once.")
        return False

    def _take(self, replacing: str | None) -> bool:
        self.sha = self._write(replacing)
        return self.sha is not None

    def _write(self, replacing: str | None) -> str | None:
        """This run as the holder, from now; the lock's commit, or None when the lock was not ``replacing``."""
        now = self.clock.now()
        sha = self.branches.take_lock(self.branch, replace(self.me, taken_at=now), replacing)
        if sha is not None:
            self.written_at = now
        return sha

    def _takeover_note(self, holder: LockHolder | None) -> str:
        """Why the lock ``holder`` holds may be taken over ("" when it may not)."""
        if holder is None:
            return (f"Took over `{self.branch}`: its lock (`{lock_ref(self.branch)}`) did not say which run held "
                    "it.")
        if holder.run_id == self.me.run_id and holder.attempt != self.me.attempt:
            return f"Took over `{self.branch}` from an earlier attempt of this run, which ended without letting go."
        if holder.stale(self.clock.now()):
            return (f"Took over `{self.branch}` from {holder.describe()}, which held it longer than it can work "
                    f"({format_duration(round(holder.limit_s * 1000))}): that run ended without letting go.")
        return ""

    def _say(self, line: str) -> None:
        self.notes.note(line, replacing=self._said)
        self._said = line

    def _busy(self, waited: float) -> BranchBusy:
        holder = self.waited_for[-1].describe() if self.waited_for else "another run"
        return BranchBusy(
            f"{holder} is still working on `{self.branch}` after this run waited "
            f"{format_duration(round(waited * 1000))} for it (the `timeout-minutes` limit); nothing was changed. "
            f"To fix: ask again once that run has finished. If it is no longer running, delete its lock with "
            f"`git push origin :{lock_ref(self.branch)}`.")


def _and(items) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
