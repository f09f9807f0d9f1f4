"""The progress comment: its text against golden files, and how often it is edited."""

import threading
import time
from dataclasses import dataclass, replace

import pytest

from codeagent.errors import GitHubError
from codeagent.event import OWN_COMMENT_MARKER
from codeagent.progress_comment import ProgressComment
from codeagent.progress_view import (AGENT_WORKING, BRANCH_READY, CHANGES_PUSHED, PHASES, PR_READY, Ending, ProgressState,
                                     Status, render_progress)
from tests.unit.golden import assert_golden

PR_URL = "https://github.com/octo-org/textstats/pull/8"
RUN_URL = "https://github.com/octo-org/textstats/actions/runs/42"
ACTIVITY = (
    "Read textstats/__init__.py",
    "Edited textstats/__init__.py",
    "Wrote tests/test_word_count.py",
    "Ran `python -m pytest -q`",
    "Claude: All tests pass; word_count splits on whitespace.",
)
STARTED = ProgressState(run_id="42", run_url=RUN_URL, elapsed_s=1.2,
                        phases=((BRANCH_READY, Status.IN_PROGRESS),) + tuple((p, Status.PENDING) for p in PHASES[1:]))
WORKING = replace(
    STARTED, phases=((BRANCH_READY, Status.DONE), (AGENT_WORKING, Status.IN_PROGRESS),
                     (CHANGES_PUSHED, Status.PENDING), (PR_READY, Status.PENDING)),
    activity=ACTIVITY, elapsed_s=75.3, turns=4, cost_usd=0.0712, pull_request_url=PR_URL,
)
ALL_DONE = tuple((p, Status.DONE) for p in PHASES)


def test_just_started():
    assert_golden("progress-started.md", render_progress(STARTED))


def test_agent_working():
    assert_golden("progress-working.md", render_progress(WORKING))


def test_success():
    state = replace(WORKING, phases=ALL_DONE, elapsed_s=95.4, turns=5, cost_usd=0.11623995,
                    ending=Ending("success"))
    assert_golden("progress-success.md", render_progress(state))


def test_no_changes():
    phases = ((BRANCH_READY, Status.DONE), (AGENT_WORKING, Status.DONE),
              (CHANGES_PUSHED, Status.PENDING), (PR_READY, Status.PENDING))
    state = replace(WORKING, phases=phases, turns=2, cost_usd=0.02, ending=Ending("no-changes"))
    assert_golden("progress-no-changes.md", render_progress(state))


def test_failure_with_reason():
    phases = ((BRANCH_READY, Status.DONE), (AGENT_WORKING, Status.FAILED),
              (CHANGES_PUSHED, Status.PENDING), (PR_READY, Status.PENDING))
    reason = "Claude Code failed (error_during_execution, exit code 1); last lines of its output:\nAPI Error: 500"
    state = replace(WORKING, phases=phases, ending=Ending("failure", reason=reason))
    assert_golden("progress-failure.md", render_progress(state))


def test_budget_reached():
    phases = ((BRANCH_READY, Status.DONE), (AGENT_WORKING, Status.DONE),
              (CHANGES_PUSHED, Status.DONE), (PR_READY, Status.PENDING))
    state = replace(WORKING, phases=phases, elapsed_s=130, turns=9, cost_usd=0.5123,
                    ending=Ending("limit", limit="max-cost-usd"))
    text = render_progress(state)
    assert "budget reached" in text and PR_URL in text
    assert_golden("progress-budget-reached.md", text)


def test_cancelled():
    phases = ((BRANCH_READY, Status.DONE), (AGENT_WORKING, Status.FAILED),
              (CHANGES_PUSHED, Status.PENDING), (PR_READY, Status.PENDING))
    assert_golden("progress-cancelled.md", render_progress(replace(WORKING, phases=phases, ending=Ending("cancelled"))))


@pytest.mark.parametrize("limit, words", [("max-turns", "turn limit reached"),
                                          ("timeout-minutes", "time limit reached")])
def test_the_other_limits(limit, words):
    text = render_progress(replace(WORKING, ending=Ending("limit", limit=limit)))
    assert f"Stopped at the `{limit}` limit ({words})" in text


def test_the_marker_makes_the_comment_recognisable():
    text = render_progress(STARTED)
    assert text.startswith("<!-- codeagent:progress run=42 -->\n")
    assert OWN_COMMENT_MARKER in text  # so it can never start a run


def test_activity_cannot_escape_its_code_block():
    text = render_progress(replace(WORKING, activity=("Ran `echo ``` <img src=x> @octo-owner`",)))
    assert "\n````text\nRan `echo ``` <img src=x> @octo-owner`\n````\n" in text


# The comment on GitHub, through a fake port and a fake clock.


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Comment:
    id: int


class FakeGitHub:
    """Comments and edits, each with the time it was made."""

    def __init__(self, clock=time.monotonic, fail_edits: bool = False, fail_comment: bool = False) -> None:
        self.clock, self.fail_edits, self.fail_comment = clock, fail_edits, fail_comment
        self.comments: list[tuple[int, str]] = []
        self.edits: list[tuple[float, str]] = []

    def comment(self, number: int, body: str) -> Comment:
        if self.fail_comment:
            raise GitHubError("commenting on the issue: GitHub answered 502: Bad Gateway")
        self.comments.append((number, body))
        return Comment(id=2590000100 + len(self.comments))

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        assert (number, comment_id) == (7, 2590000101)
        if self.fail_edits:
            raise GitHubError("editing a comment: GitHub answered 502: Bad Gateway")
        self.edits.append((self.clock(), body))

    @property
    def body(self) -> str:
        """What the issue shows now."""
        return self.edits[-1][1] if self.edits else self.comments[-1][1]


def started(clock: Clock, github: FakeGitHub, **options) -> ProgressComment:
    progress = ProgressComment(github, 7, RUN_URL, clock=clock, background=False, **options)
    progress.start()
    return progress


def test_start_posts_one_comment():
    clock = Clock()
    github = FakeGitHub(clock)
    started(clock, github)
    assert [number for number, _ in github.comments] == [7]
    assert github.body.startswith("<!-- codeagent:progress run=42 -->") and "🤖 **codeagent is working on this.**" in github.body


def test_start_lets_the_caller_decide_about_errors():
    with pytest.raises(GitHubError):
        ProgressComment(FakeGitHub(fail_comment=True), 7, RUN_URL, background=False).start()


def test_many_updates_within_the_interval_make_one_edit():
    clock, github = Clock(), FakeGitHub()
    progress = started(clock, github)
    clock.now += 5
    for n in range(50):
        progress.activity(f"Read file_{n}.py")
        progress.stats(n, n / 100)
        clock.now += 0.05
    assert len(github.edits) == 1


def test_updates_spread_over_time_edit_at_most_once_per_interval():
    clock = Clock()
    github = FakeGitHub(clock)
    progress = started(clock, github)
    for n in range(60):
        clock.now += 1
        progress.activity(f"Ran `step {n}`")
    times = [at for at, _ in github.edits]
    assert len(times) == 12
    assert all(later - earlier >= 5 for earlier, later in zip(times, times[1:]))


def test_the_final_edit_always_lands():
    clock = Clock()
    github = FakeGitHub(clock)
    progress = started(clock, github)
    clock.now += 1
    progress.activity("Edited textstats/__init__.py")
    progress.pull_request(PR_URL)
    assert github.edits == []
    clock.now += 0.5
    progress.finish("success")
    assert len(github.edits) == 1
    assert f"✅ **Done.** The pull request is ready for review: {PR_URL}" in github.body
    assert "⏱️ 1.5 s" in github.body


def test_finish_settles_the_phase_in_progress_and_ignores_later_updates():
    clock = Clock()
    github = FakeGitHub(clock)
    progress = started(clock, github)
    progress.phase(BRANCH_READY, Status.DONE)
    progress.phase(AGENT_WORKING, Status.IN_PROGRESS)
    progress.finish("failure", reason="the sandbox ran out of memory (`sandbox-memory`)")
    clock.now += 60
    progress.activity("Read late.py")
    progress.finish("success")
    assert len(github.edits) == 1
    assert f"- ❌ {AGENT_WORKING}\n" in github.body and "> the sandbox ran out of memory" in github.body


def test_edit_errors_are_swallowed_and_reported():
    clock, errors = Clock(), []
    progress = started(clock, FakeGitHub(clock, fail_edits=True), on_error=errors.append)
    clock.now += 10
    progress.activity("Ran `pytest`")
    progress.finish("success")
    assert errors == ["could not update the progress comment: editing a comment: GitHub answered 502: Bad Gateway"] * 2


def test_without_a_comment_updates_and_finish_do_nothing():
    github = FakeGitHub()
    progress = ProgressComment(github, 7, RUN_URL, background=False)
    progress.activity("Ran `pytest`")
    progress.finish("cancelled")
    assert github.comments == [] and github.edits == []


def test_an_unknown_phase_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown phase"):
        ProgressComment(FakeGitHub(), 7, RUN_URL, background=False).phase("Coffee", Status.DONE)


def test_leaving_the_with_block_without_finish_reports_the_failure():
    clock = Clock()
    github = FakeGitHub(clock)
    with pytest.raises(RuntimeError), started(clock, github):
        raise RuntimeError("git push was rejected")
    assert "❌ **The run failed.**\n\n> git push was rejected" in github.body


# The background flusher, with a real clock and a short interval.


def wait_for(condition, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_the_flusher_shows_a_quiet_agents_last_activity():
    github = FakeGitHub()
    progress = ProgressComment(github, 7, RUN_URL, min_interval_s=0.05)
    progress.start()
    progress.activity("Ran `pytest`")  # inside the interval: no edit yet
    assert wait_for(lambda: "Ran `pytest`" in github.body)
    progress.finish("success")
    edits = len(github.edits)
    progress.activity("Read late.py")
    time.sleep(0.15)
    assert len(github.edits) == edits
    assert not any(thread.name == "codeagent-progress" for thread in threading.enumerate())


def test_updates_from_many_threads():
    github = FakeGitHub()
    progress = ProgressComment(github, 7, RUN_URL, min_interval_s=0.01)
    progress.start()

    def agent(name: str) -> None:
        for n in range(200):
            progress.activity(f"{name} step {n}")

    threads = [threading.Thread(target=agent, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.finish("cancelled")
    shown = [line for line in github.body.splitlines() if " step " in line]
    assert len(shown) == 5 and len(github.edits) < 600


HOSTILE_HOST = "a`@octo-org/security`[click](https://evil.example/x)<img/src=https://evil.example/p.png>`b"


def test_a_blocked_host_name_the_agent_made_up_is_shown_as_code_only():
    text = render_progress(replace(WORKING, blocked=((HOSTILE_HOST, 2),)))
    line = next(line for line in text.splitlines() if "Blocked" in line)
    assert f"``{HOSTILE_HOST}`` ×2" in line  # one code span around all of it: no mention, link or image
