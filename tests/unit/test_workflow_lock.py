"""Two runs never work on one branch at once: what a run does when another holds its branch."""

from __future__ import annotations

import io

import pytest

from codeagent.branch_lock import RENEW_AFTER_S, HeldLock, LockHolder
from codeagent.errors import Cancelled, SandboxError
from codeagent.event import Trigger
from codeagent.log import Log
from codeagent.outcome import Outcome
from codeagent.progress_comment import ProgressComment
from codeagent.workflow import Run
from tests.unit.test_branch_lock import Clock
from tests.unit.test_workflow import BRANCH, RUN_URL, World, settings, trigger, world
from tests.unit.test_workflow_follow_up import pull_request_trigger, with_pull

OTHER_URL = "https://github.com/octo-org/textstats/actions/runs/41"
LOCAL_URL = "http://127.0.0.1:8080/octo-org/textstats/actions/runs/local"
OTHER = LockHolder("41", OTHER_URL, 1_736_676_180.0, 5700)
"""The run that works on the branch: it took it at 10:03 UTC."""


def run(w: World, clock: Clock, asked: Trigger | None = None, **setting_values) -> Outcome:
    """The run, its progress comment edited at every change, so that each state is seen."""
    asked = asked or trigger()
    progress = ProgressComment(w.github, asked.issue_number, RUN_URL, background=False, min_interval_s=0)
    return Run(asked, settings(**setting_values), w.github, w.branches, w.sandbox, Log(io.StringIO()), RUN_URL,
               progress=progress, clock=clock).execute()


def releases_after(w: World, sleeps: int, seen: list[str]):
    """The other run lets go of the branch after ``sleeps`` polls; ``seen`` gets the comment at each poll."""
    def on_sleep(clock: Clock) -> None:
        seen.append(w.github.posted[-1][1])
        if len(clock.sleeps) == sleeps:
            del w.branches.locks[BRANCH]
    return on_sleep


def test_a_run_waits_for_the_run_on_its_branch_says_so_and_then_works_on_the_branch_as_it_left_it():
    w, seen = world(), []
    w.branches.locks[BRANCH] = HeldLock("a" * 40, OTHER)

    outcome = run(w, Clock(releases_after(w, 3, seen)))

    assert outcome.result == "success"
    waiting = f"⏳ Waiting for run [41]({OTHER_URL}) (started 10:03 UTC) to finish: it is working on `{BRANCH}`"
    assert all(waiting in comment for comment in seen)
    (comment,) = [body for number, body in w.github.posted if number == 7]
    assert "⏳" not in comment
    assert f"Waited 9.5 s for run [41]({OTHER_URL}) (started 10:03 UTC) to finish working on `{BRANCH}`." in comment
    # Nothing touched the branch before the other run let go; this run let go at the end.
    assert w.journal.index(f"lock {BRANCH}") < w.journal.index(f"push {BRANCH}")
    assert w.journal[-1] == f"unlock {BRANCH}" and w.branches.locks == {}


@pytest.mark.parametrize("error", [SandboxError("the sandbox container failed: boom"),
                                   Cancelled("the run was cancelled (SIGINT)")])
def test_the_branch_is_let_go_when_the_run_fails_or_is_cancelled(error):
    w = world()
    w.sandbox.fail_with = error

    outcome = run(w, Clock())

    assert outcome.result == "failure"
    assert w.journal[-1] == f"unlock {BRANCH}" and w.branches.locks == {}


def test_the_branch_is_let_go_after_an_unexpected_error_too():
    w = world()
    w.sandbox.fail_with = KeyError("bug")

    with pytest.raises(KeyError):
        run(w, Clock())

    assert w.branches.locks == {}


def test_a_run_that_waited_its_whole_time_limit_fails_saying_who_holds_the_branch():
    w = world()
    w.branches.locks[BRANCH] = HeldLock("a" * 40, OTHER)
    clock = Clock()

    outcome = run(w, clock, timeout_minutes=5)

    assert outcome.result == "failure" and outcome.title == "Branch busy"
    assert sum(clock.sleeps) == 300
    (comment,) = [body for number, body in w.github.posted if number == 7]
    assert f"run [41]({OTHER_URL}) (started 10:03 UTC) is still working on `{BRANCH}`" in comment
    assert "❌ **The run failed.**" in comment
    assert BRANCH not in w.branches.branches and w.github.pulls == {}  # nothing touched
    assert w.branches.locks[BRANCH].holder == OTHER  # the other run's lock, left alone
    assert w.sandbox.prompts == []


def test_a_follow_up_on_the_pull_request_waits_for_a_run_on_its_issue_the_same_branch():
    w, pull = with_pull()
    w.branches.locks[BRANCH] = HeldLock("a" * 40, OTHER)
    seen: list[str] = []

    def other_run_finishes(clock: Clock) -> None:
        releases_after(w, 1, seen)(clock)
        pull.title = "Add a word_count helper (renamed meanwhile)"

    outcome = run(w, Clock(other_run_finishes), pull_request_trigger(pull))

    assert outcome.result == "success"
    (comment,) = [body for number, body in w.github.posted if number == pull.number]
    assert "Waited 2.0 s for run [41]" in comment
    assert outcome.pull_request is not None and outcome.pull_request.title.endswith("(renamed meanwhile)")


def test_a_lock_the_holder_never_let_go_of_is_taken_over_past_its_limit():
    w = world()
    w.branches.locks[BRANCH] = HeldLock("a" * 40, LockHolder("41", OTHER_URL, 1_736_676_180.0 - 7200, 5700))

    outcome = run(w, Clock())

    assert outcome.result == "success"
    (comment,) = [body for number, body in w.github.posted if number == 7]
    assert f"Took over `{BRANCH}` from run [41]({OTHER_URL}) (started 08:03 UTC)" in comment


def test_the_lock_says_how_long_the_run_can_hold_the_branch_at_most():
    w = world()
    held: list[LockHolder] = []
    take = w.branches.take_lock
    w.branches.take_lock = lambda branch, me, replacing: (held.append(me), take(branch, me, replacing))[1]  # type: ignore[method-assign]

    clock = Clock()
    slow(w.sandbox, "run_command", clock, 600)
    slow(w.sandbox, "run_agent", clock, 600)
    run(w, clock, timeout_minutes=20, setup="pip install -e .", verify_rounds=1)

    # Taken, then renewed as the agent starts and as its change is pushed: each time good for the agent's
    # 20 minutes, three steps of at most 15 (before the agent: the image, the setup, the tests; while it
    # works: a retry's packer, the tests after it and after one repair), 10 to spare, and the minute a
    # renewal may be left out.
    assert [(me.run_id, me.run_url, me.limit_s) for me in held] == [("42", RUN_URL, (20 + 3 * 15 + 10 + 1) * 60)] * 3


def slow(sandbox, method: str, clock: Clock, seconds: float) -> None:
    """``sandbox.method`` takes ``seconds`` of the run's clock."""
    call = getattr(sandbox, method)
    setattr(sandbox, method, lambda *args, **kwargs: (clock.sleep(seconds), call(*args, **kwargs))[1])


def test_a_pull_request_merged_while_the_run_waited_is_not_worked_on():
    w, pull = with_pull()
    w.branches.locks[BRANCH] = HeldLock("a" * 40, OTHER)
    seen: list[str] = []

    def merged_meanwhile(clock: Clock) -> None:
        releases_after(w, 1, seen)(clock)
        pull.state, pull.merged = "closed", True

    outcome = run(w, Clock(merged_meanwhile), pull_request_trigger(pull))

    assert outcome.result == "failure" and outcome.title == "Pull request changed"
    (comment,) = [body for number, body in w.github.posted if number == pull.number]
    assert "While this run waited for the branch: This pull request is merged" in comment
    assert w.sandbox.prompts == [] and "pack" not in w.journal
    assert w.journal[-1] == f"unlock {BRANCH}" and w.branches.locks == {}


def test_the_lock_is_renewed_as_the_agent_starts_and_as_its_change_is_gathered():
    w = world()
    taken: list[float] = []
    take = w.branches.take_lock
    w.branches.take_lock = lambda branch, me, replacing: (taken.append(me.taken_at), take(branch, me, replacing))[1]  # type: ignore[method-assign]
    clock = Clock()
    slow(w.sandbox, "run_command", clock, 900)  # the setup
    slow(w.sandbox, "run_agent", clock, 3600)

    run(w, clock, setup="pip install -e .")

    assert len(taken) == 3 and taken[1] - taken[0] >= 900  # renewed after the setup, as the agent starts
    assert taken[2] - taken[0] >= 900 + 3600  # and after the agent: as fresh as the push


def test_a_renewal_within_a_minute_of_the_last_is_not_pushed():
    """A quick run (nothing to set up, a short answer) pushes its lock twice: taken, let go."""
    w = world()
    clock = Clock()
    slow(w.sandbox, "run_agent", clock, RENEW_AFTER_S - 1)

    assert run(w, clock).result == "success"

    assert [entry for entry in w.journal if "lock" in entry] == [f"lock {BRANCH}", f"unlock {BRANCH}"]


def test_a_run_that_waited_for_the_branch_starts_it_from_the_default_branch_as_it_is_then():
    """Another run may have merged into it meanwhile: the new branch starts from where it is now."""
    w, seen = world(), []
    w.branches.locks[BRANCH] = HeldLock("a" * 40, OTHER)
    w.branches.fetch("main")  # read for the config, before the wait

    def merged_meanwhile(clock: Clock) -> None:
        w.branches.branches["main"].append("Merge pull request #5")
        releases_after(w, 1, seen)(clock)

    run(w, Clock(merged_meanwhile))

    assert w.branches.branches[BRANCH][:3] == ["Initial commit", "Merge pull request #5",
                                              "codeagent: received #7, preparing to implement"]


def test_a_run_that_did_not_wait_works_from_the_default_branch_it_read_its_config_from():
    w = world()
    w.branches.fetch("main")  # read for the config
    w.branches.branches["main"].append("Merge pull request #5")  # a second later

    run(w, Clock())

    assert "Merge pull request #5" not in w.branches.branches[BRANCH]


def test_a_run_id_that_is_not_a_number_still_names_the_holder():
    w = world()
    held: list[LockHolder] = []
    take = w.branches.take_lock
    w.branches.take_lock = lambda branch, me, replacing: (held.append(me), take(branch, me, replacing))[1]  # type: ignore[method-assign]
    asked = trigger()
    progress = ProgressComment(w.github, asked.issue_number, LOCAL_URL, background=False, min_interval_s=0)
    Run(asked, settings(), w.github, w.branches, w.sandbox, Log(io.StringIO()), LOCAL_URL, progress=progress,
        clock=Clock()).execute()

    assert held[0].run_id == "local"
    assert LockHolder.parse(held[0].message()) is not None  # a waiting run can tell who holds it
