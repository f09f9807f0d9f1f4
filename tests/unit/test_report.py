"""What the action writes where users read it, against golden files."""

import dataclasses
from dataclasses import dataclass

import pytest

from codeagent import report
from codeagent.agent.claude import AgentResult
from codeagent.event import Trigger
from tests.unit.golden import assert_golden

PR_URL = "https://github.com/octo-org/textstats/pull/8"
RUN_URL = "https://github.com/octo-org/textstats/actions/runs/42"
FILES = ["tests/test_word_count.py", "textstats/__init__.py"]
RESULT = AgentResult(
    summary="Added `word_count(text)` to `textstats/__init__.py`, which splits on\nwhitespace, "
            "and a test in `tests/test_word_count.py`.\n",
    is_error=False, subtype="success", num_turns=5, duration_ms=95_400, cost_usd=0.11623995,
    input_tokens=20, output_tokens=308, cache_creation_tokens=22551, cache_read_tokens=89979,
    session_id="8fead0b4-a1f2-4fdd-b120-48f51aab9808",
)
AT_LIMIT = dataclasses.replace(RESULT, summary="", is_error=True, subtype="error_max_turns", num_turns=31,
                               error="Reached maximum number of turns (30)")
TRIGGER = Trigger("issue_comment", "octo-org/textstats", 7, "octo-owner", "keep it to one line", 2590000001, False)


@dataclass(frozen=True)
class PullRequest:
    number: int
    html_url: str


@dataclass(frozen=True)
class Commit:
    files: tuple[str, ...]
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentRun:
    result: AgentResult


@dataclass(frozen=True)
class Outcome:
    """The shape of workflow.Outcome that step_summary reads."""

    result: str
    trigger: Trigger
    message: str = ""
    branch: str = ""
    pull_request: PullRequest | None = None
    agent: AgentRun | None = None
    commit: Commit | None = None


def test_initial_commit_message():
    assert report.initial_commit_message(7) == "codeagent: received #7, preparing to implement"


def test_commit_message():
    assert_golden("commit_message.txt", report.commit_message(7, "Add a word_count helper", RESULT.summary))


def test_the_commit_subject_fits_72_characters():
    message = report.commit_message(1234, "Make the   very long\ntitle of this issue fit into a commit subject line somehow", "")
    subject, _, body = message.partition("\n\n")
    assert subject == "codeagent: Make the very long title of this issue fit into a… (#1234)"
    assert len(subject) <= 72
    assert body.startswith("Implements #1234.\n\nIssue: #1234\n")


def test_draft_pr_body():
    assert report.draft_pr_body(7).startswith("Closes #7\n\n🚧 **Work in progress**")
    assert_golden("draft_pr_body.md", report.draft_pr_body(7, RUN_URL))


def test_final_pr_body():
    assert_golden("final_pr_body.md", report.final_pr_body(7, RESULT, FILES, []))


def test_final_pr_body_at_a_limit_with_workflow_files_left_out():
    body = report.final_pr_body(7, AT_LIMIT, FILES, [".github/workflows/ci.yml"])
    assert_golden("final_pr_body.limit.md", body)


def test_refusal_comment():
    assert_golden("refusal_comment.md", report.refusal_comment("drive-by", "/code"))


def test_fork_comment():
    assert_golden("fork_comment.md", report.fork_comment("forkful/textstats"))
    assert "a fork that no longer exists" in report.fork_comment(None)


def test_follow_up_reply():
    assert_golden("follow_up_reply.md", report.follow_up_reply(RESULT.summary, FILES))


def test_failure_comment():
    message = "stopped at the limit `timeout-minutes`"
    assert_golden("failure_comment.md", report.failure_comment(
        "Agent error", f"Claude Code {message}. What it wrote (2 files) is pushed to {PR_URL}.", RUN_URL))


def test_error_summary():
    assert report.error_summary("Invalid configuration", "input `max-turns`: must be a positive integer, got 'ten'\n") == (
        "## ❌ codeagent: Invalid configuration\n\ninput `max-turns`: must be a positive integer, got 'ten'\n")


def test_step_summary_of_a_success():
    outcome = Outcome("success", TRIGGER, branch="codeagent/issue-7", pull_request=PullRequest(8, PR_URL),
                      agent=AgentRun(RESULT), commit=Commit(tuple(FILES)))
    phases = {"Check who asked": 0.4, "Prepare the branch and the draft pull request": 2.1,
              "Run Claude Code in the sandbox": 95.4, "Commit and push": 1.2}
    assert_golden("step_summary.success.md", report.step_summary(outcome, phases))


def test_step_summary_of_a_failure_at_a_limit():
    outcome = Outcome("failure", TRIGGER, message="stopped at the limit `max-turns`", branch="codeagent/issue-7",
                      pull_request=PullRequest(8, PR_URL), agent=AgentRun(AT_LIMIT),
                      commit=Commit(("textstats/__init__.py",), left_out=(".github/workflows/ci.yml",)))
    assert_golden("step_summary.limit.md", report.step_summary(outcome))


def test_step_summary_of_a_refusal_has_no_agent_numbers():
    outcome = Outcome("skipped", TRIGGER, message="@octo-owner may not use /code")
    assert report.step_summary(outcome) == (
        "## codeagent: skipped\n\n| | |\n| --- | --- |\n| Trigger | `issue_comment` on #7 |\n| Who | @octo-owner |\n"
        "| Branch | — |\n| Pull request | — |\n| Result | skipped |\n\n> @octo-owner may not use /code\n")


@pytest.mark.parametrize("milliseconds, text", [(0, "0.0 s"), (632, "0.6 s"), (42_000, "42 s"), (185_000, "3 min 5 s"),
                                                (3_720_000, "1 h 2 min")])
def test_format_duration(milliseconds, text):
    assert report.format_duration(milliseconds) == text


@pytest.mark.parametrize("usd, text", [(0, "$0.00"), (0.0041, "$0.004"), (0.11623995, "$0.12"), (12.5, "$12.50")])
def test_format_cost(usd, text):
    assert report.format_cost(usd) == text
