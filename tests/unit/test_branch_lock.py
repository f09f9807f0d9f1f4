"""The branch lock: taken at once when free, waited for with a note, taken over when stale, let go at the end.

The waiting is tested against the fake `Branches` with a clock and a sleep of our own; the lock
ref itself with real git: two runs' repositories against one bare server over file://.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codeagent.branch_lock import FIRST_POLL_S, MAX_POLL_S, BranchLock, HeldLock, LockHolder, lock_ref
from codeagent.branches import Branches
from codeagent.checkout import Checkout
from codeagent.errors import BranchBusy, GitError, RefRefused
from codeagent.gitcmd import Identity
from codeagent.repository import Repository
from tests.unit.fakes import FakeBranches

BRANCH = "codeagent/issue-7"
T0 = 1_736_676_180.0
"""2025-01-12 10:03:00 UTC."""
URL = "https://github.com/octo-org/textstats/actions/runs/"


def holder(run_id: str = "111", taken_at: float = T0, limit_s: float = 3600, attempt: str = "1") -> LockHolder:
    return LockHolder(run_id, URL + run_id, taken_at, limit_s, attempt)


class Notes:
    """The progress comment's notes, as `ProgressComment.note` keeps them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, line: str, replacing: str = "") -> None:
        self.lines = [line if n == replacing else n for n in self.lines] if replacing in self.lines \
            else [*self.lines, line]


class Clock:
    """Time that passes only when the lock sleeps; ``on_sleep`` lets the other run act meanwhile."""

    def __init__(self, on_sleep=lambda clock: None) -> None:
        self.time, self.sleeps, self.on_sleep = T0 + 60, [], on_sleep

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        self.on_sleep(self)


def lock_for(branches: FakeBranches, clock: Clock, notes: Notes, me: LockHolder | None = None,
             log: list[str] | None = None) -> BranchLock:
    return BranchLock(branches, BRANCH, me or holder("222"), notes, (log if log is not None else []).append,
                      clock)


def test_a_free_branch_is_locked_at_once_and_let_go_at_the_end():
    branches, clock, notes = FakeBranches(), Clock(), Notes()
    lock = lock_for(branches, clock, notes)

    assert lock.acquire(1800) is False
    assert branches.locks[BRANCH].holder == holder("222", taken_at=clock.time)
    assert notes.lines == [] and clock.sleeps == []
    lock.release()
    assert branches.locks == {} and branches.journal == [f"lock {BRANCH}", f"unlock {BRANCH}"]


def test_a_held_branch_is_waited_for_with_backoff_and_the_wait_is_said():
    branches, notes, seen = FakeBranches(), Notes(), []
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111"))

    def other_run_finishes(clock: Clock) -> None:
        seen.append(list(notes.lines))
        if len(clock.sleeps) == 4:
            del branches.locks[BRANCH]

    clock = Clock(other_run_finishes)
    lock = lock_for(branches, clock, notes)

    assert lock.acquire(1800) is True
    waiting = f"⏳ Waiting for run [111]({URL}111) (started 10:03 UTC) to finish: it is working on `{BRANCH}`"
    assert seen[0][0].startswith(waiting)
    assert clock.sleeps == [FIRST_POLL_S, FIRST_POLL_S * 1.5, FIRST_POLL_S * 1.5**2, FIRST_POLL_S * 1.5**3]
    assert sum(clock.sleeps) == 16.25
    assert notes.lines == [f"Waited 16 s for run [111]({URL}111) (started 10:03 UTC) to finish "
                           f"working on `{BRANCH}`."]
    assert branches.locks[BRANCH].holder.run_id == "222"


def test_polls_are_at_most_half_a_minute_apart():
    branches, clock = FakeBranches(), Clock()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111"))

    with pytest.raises(BranchBusy):
        lock_for(branches, clock, Notes()).acquire(600)
    assert max(clock.sleeps) == MAX_POLL_S and sum(clock.sleeps) == 600


def test_every_run_waited_for_is_named():
    branches, notes = FakeBranches(), Notes()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111"))

    def runs_come_and_go(clock: Clock) -> None:
        if len(clock.sleeps) == 1:
            branches.locks[BRANCH] = HeldLock("b" * 40, holder("333", taken_at=clock.time))
        elif len(clock.sleeps) == 3:
            del branches.locks[BRANCH]

    lock_for(branches, Clock(runs_come_and_go), notes).acquire(1800)
    [said] = notes.lines
    assert said.startswith("Waited ") and "run [111]" in said and " and run [333]" in said


def test_a_run_that_waited_too_long_fails_saying_who_holds_the_branch_and_how_to_free_it():
    branches, clock, notes = FakeBranches(), Clock(), Notes()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111"))
    lock = lock_for(branches, clock, notes)

    with pytest.raises(BranchBusy) as raised:
        lock.acquire(1800)
    message = str(raised.value)
    assert message.startswith(f"run [111]({URL}111) (started 10:03 UTC) is still working on `{BRANCH}` after this run "
                              "waited 30 min 0 s for it")
    assert f"git push origin :refs/codeagent/locks/{BRANCH}" in message
    lock.release()
    assert branches.locks[BRANCH].holder.run_id == "111"  # never let go of a lock it does not hold


def test_a_lock_older_than_its_holders_limit_is_taken_over_with_a_note():
    branches, clock, notes, log = FakeBranches(), Clock(), Notes(), []
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111", taken_at=T0 - 3600, limit_s=3600))

    assert lock_for(branches, clock, notes, log=log).acquire(1800) is False
    assert branches.locks[BRANCH].holder.run_id == "222"
    [said] = notes.lines
    assert said == (f"Took over `{BRANCH}` from run [111]({URL}111) (started 09:03 UTC), which held it longer than it "
                    "can work (1 h 0 min): that run ended without letting go.")
    assert said in log


def test_a_lock_left_by_an_earlier_attempt_of_the_same_run_is_taken_over():
    branches, clock, notes = FakeBranches(), Clock(), Notes()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("222", attempt="1"))

    assert lock_for(branches, clock, notes, me=holder("222", attempt="2")).acquire(1800) is False
    assert branches.locks[BRANCH].holder.attempt == "2"
    assert notes.lines == [f"Took over `{BRANCH}` from an earlier attempt of this run, which ended without letting go."]


def test_a_lock_that_does_not_say_who_holds_it_is_taken_over():
    branches, clock, notes = FakeBranches(), Clock(), Notes()
    branches.locks[BRANCH] = HeldLock("a" * 40, None)

    assert lock_for(branches, clock, notes).acquire(1800) is False
    assert branches.locks[BRANCH].holder.run_id == "222" and "did not say which run held it" in notes.lines[0]


def test_a_takeover_lost_to_another_run_waits_for_that_run():
    branches, notes = FakeBranches(), Notes()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111", taken_at=T0 - 7200, limit_s=3600))
    take = branches.take_lock

    def faster_run_takes_over(branch, me, replacing):
        if replacing == "a" * 40:  # a third run took it over first
            branches.locks[BRANCH] = HeldLock("b" * 40, holder("333", taken_at=T0 + 60))
        return take(branch, me, replacing)

    branches.take_lock = faster_run_takes_over  # type: ignore[method-assign]
    clock = Clock(lambda clock: branches.locks.pop(BRANCH) if len(clock.sleeps) == 2 else None)
    assert lock_for(branches, clock, notes).acquire(1800) is True
    assert "run [333]" in notes.lines[0] and notes.lines[0].startswith("Waited")


def test_a_lock_taken_over_meanwhile_is_not_deleted_on_release():
    branches, clock, log = FakeBranches(), Clock(), []
    lock = lock_for(branches, clock, Notes(), log=log)
    lock.acquire(1800)
    branches.locks[BRANCH] = HeldLock("b" * 40, holder("333"))

    lock.release()
    assert branches.locks[BRANCH].holder.run_id == "333"
    assert f"the lock on {BRANCH} was taken over by another run meanwhile" in log


def test_a_server_that_refuses_the_lock_ref_leaves_the_run_to_go_on_with_a_note():
    branches, clock, notes = FakeBranches(), Clock(), Notes()

    def refused(branch, me, replacing):
        raise RefRefused("git push failed: ! [remote rejected] (pre-receive hook declined)")

    branches.take_lock = refused  # type: ignore[method-assign]
    assert lock_for(branches, clock, notes).acquire(1800) is False
    assert notes.lines[0].startswith(f"Could not take the lock on `{BRANCH}`, so another run could work on it")


def test_a_server_out_of_reach_is_an_error_never_a_run_without_the_lock():
    branches, clock = FakeBranches(), Clock()
    branches.locks[BRANCH] = HeldLock("a" * 40, holder("111"))

    def unreachable(branch):
        raise GitError("git fetch failed: Could not resolve host. To fix: check the runner's network.")

    branches.read_lock = unreachable  # type: ignore[method-assign]
    with pytest.raises(GitError, match="Could not resolve host"):
        lock_for(branches, clock, Notes()).acquire(1800)
    assert branches.locks[BRANCH].holder.run_id == "111"


def test_the_holder_is_written_into_the_lock_and_read_back():
    me = holder("222", limit_s=5700, attempt="3")
    assert LockHolder.parse(me.message()) == me
    assert me.message().startswith("codeagent: run 222 works on this branch\n")
    assert LockHolder.parse("a lock someone made by hand") is None
    # What the progress comment shows of a lock must be a run id and a plain link.
    assert LockHolder.parse(me.message().replace(URL, "javascript:alert(1) ")) is None
    assert LockHolder.parse(me.message().replace("run: 222", "run: ](http://evil)")) is None


# -- the lock ref, with real git --


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> Path:
    bare = tmp_path / "server" / "octo-org" / "textstats.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "init", "-q", "--bare", str(bare))
    return bare


def run_branches(tmp_path: Path, server: Path, name: str) -> Branches:
    """The git side of one run: its own repository (the action's state) against the shared server."""
    repository = Repository(tmp_path / name / "repo.git", server_url=f"file://{server.parent.parent}",
                            repository="octo-org/textstats", token="ghs_" + "t" * 36,
                            identity=Identity("github-actions[bot]", "bot@users.noreply.github.com"))
    (tmp_path / name / "workspace").mkdir()
    return Branches(repository, Checkout(tmp_path / name / "workspace"), tmp_path / name / "agent.git", "main")


def test_of_two_runs_one_holds_the_branch_and_the_other_reads_who(tmp_path, server):
    first, second = run_branches(tmp_path, server, "first"), run_branches(tmp_path, server, "second")

    taken = first.take_lock(BRANCH, holder("111"), None)
    assert taken and git(server, "rev-parse", lock_ref(BRANCH)) == taken
    assert git(server, "ls-tree", taken) == "" and git(server, "rev-list", "--count", taken) == "1"
    assert second.take_lock(BRANCH, holder("222"), None) is None
    assert second.read_lock(BRANCH) == HeldLock(taken, holder("111"))

    assert second.release_lock(BRANCH, "f" * 40) is False  # not its lock: left alone
    assert first.release_lock(BRANCH, taken) is True
    assert second.read_lock(BRANCH) is None
    assert second.take_lock(BRANCH, holder("222"), None)


def test_a_takeover_replaces_only_the_lock_it_read(tmp_path, server):
    first, second, third = (run_branches(tmp_path, server, name) for name in ("first", "second", "third"))
    stale = first.take_lock(BRANCH, holder("111", taken_at=T0 - 7200), None)
    assert stale

    taken = second.take_lock(BRANCH, holder("222"), stale)
    assert taken and third.take_lock(BRANCH, holder("333"), stale) is None
    assert first.release_lock(BRANCH, stale) is False
    assert third.read_lock(BRANCH) == HeldLock(taken, holder("222"))


def test_a_lock_let_go_of_right_after_a_lost_try_is_a_lost_try_not_a_refusal(tmp_path, server):
    first, second = run_branches(tmp_path, server, "first"), run_branches(tmp_path, server, "second")
    taken = first.take_lock(BRANCH, holder("111"), None)
    assert taken
    # Between the second run's push (refused: the lock was there) and any look at the ref, the first
    # run lets go: the ref is then as the second run expected, and yet its try was lost, not refused.
    second.repository.remote_ref = lambda ref: None  # type: ignore[method-assign]
    assert second.take_lock(BRANCH, holder("222"), None) is None
    first.release_lock(BRANCH, taken)
    assert second.take_lock(BRANCH, holder("222"), None)


def test_a_push_refused_for_another_reason_is_an_error(tmp_path, server):
    hook = server / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refs outside refs/heads are not allowed here' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(RefRefused, match="refs outside refs/heads are not allowed here"):
        run_branches(tmp_path, server, "first").take_lock(BRANCH, holder("111"), None)


# -- the default branch, fetched once a run --


def test_the_default_branch_the_config_was_read_from_is_the_one_the_run_works_from(tmp_path, server):
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    git(seed, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "one")
    git(seed, "push", "-q", str(server), "main")
    first = git(seed, "rev-parse", "HEAD")
    reader = run_branches(tmp_path, server, "run")
    read = reader.repository.fetch_branch("main")  # as main.read_settings does
    assert read == first
    branches = Branches(reader.repository, reader.checkout, tmp_path / "run" / "agent.git", "main", default_sha=read)
    git(seed, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "two")
    git(seed, "push", "-q", str(server), "main")
    fetches = []
    fetch_branch = reader.repository.fetch_branch
    reader.repository.fetch_branch = lambda *a, **k: (fetches.append(a), fetch_branch(*a, **k))[1]  # type: ignore[method-assign]

    assert branches.fetch("main") == first and branches.default_sha == first and fetches == []

    branches.forget_default_branch()  # after a wait for another run
    assert branches.fetch("main") == git(seed, "rev-parse", "HEAD") != first and fetches == [("main",)]
    assert branches.fetch("main") and fetches == [("main",)]
