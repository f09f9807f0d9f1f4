"""What the action writes where users read it, against golden files, with the run's real types."""

from dataclasses import replace

import pytest

from codeagent import job_summary, numbers, report
from codeagent.changes import Change, LeftOut
from codeagent.event import Trigger
from codeagent.github_types import PullRequest
from codeagent.outcome import Outcome
from codeagent.sandbox.results import StepResult
from codeagent.target import Target
from codeagent.verify import Verification
from tests.unit.fakes import USAGE, agent_run, change
from tests.unit.golden import assert_golden

PR_URL = "https://github.com/octo-org/textstats/pull/8"
RUN_URL = "https://github.com/octo-org/textstats/actions/runs/42"
SUMMARY = ("Added `word_count(text)` to `textstats/__init__.py`, which splits on\nwhitespace, "
           "and a test in `tests/test_word_count.py`.\n")
PULL = PullRequest(8, PR_URL, "open", True, False, "codeagent/issue-7", "main", "Add a word_count helper", "")
TARGET = Target(7, "Add a word_count helper", "codeagent/issue-7", "a" * 40, PULL, follow_up=False, new_pull=True,
                new_branch=True)
TRIGGER = Trigger("issue_comment", "octo-org/textstats", "main", 7, "octo-owner", "keep it to one line", False,
                  comment_id=2590000001)
RUN = agent_run(last_text=SUMMARY)
AT_LIMIT = agent_run(exit_code=1, finished=False, turns=30, last_text="")
CHANGE = change("tests/test_word_count.py", "textstats/__init__.py")
WORKFLOW = LeftOut(".github/workflows/ci.yml",
                   "a workflow file: the workflow token may not push changes under `.github/workflows/`")
TESTS = Verification("python -m pytest -q", "`verify-command`", StepResult("python -m pytest -q", 0, False,
                                                                            ("12 passed in 0.4s",)),
                     StepResult("python -m pytest -q", 0, False, ("14 passed in 0.5s",)), rounds=1)


def test_initial_commit_message():
    assert report.initial_commit_message(7) == "codeagent: received #7, preparing to implement"


def test_commit_message():
    assert_golden("commit_message.txt", report.commit_message(TARGET, TRIGGER, SUMMARY))


def test_a_later_run_s_commit_names_its_own_request():
    later = replace(TARGET, new_pull=False, new_branch=False)
    assert report.commit_message(later, TRIGGER, "").startswith("codeagent: keep it to one line (#7)\n")
    assert report.commit_message(later, replace(TRIGGER, instructions=""), "").startswith(
        "codeagent: follow-up on Add a word_count helper (#7)\n")
    # Two runs without instructions: each commit names its workflow run.
    subjects = {report.commit_message(later, replace(TRIGGER, instructions=""), "", run_id=run).splitlines()[0]
                for run in ("4101", "4102")}
    assert subjects == {"codeagent: follow-up on Add a word_count helper (#7, run 4101)",
                        "codeagent: follow-up on Add a word_count helper (#7, run 4102)"}


def test_the_commit_subject_fits_72_characters():
    target = replace(TARGET, number=1234, title="Make the   very long\ntitle of this issue fit into a commit subject line")
    message = report.commit_message(target, TRIGGER, "")
    subject, _, body = message.partition("\n\n")
    assert subject == "codeagent: Make the very long title of this issue fit into a… (#1234)"
    assert len(subject) <= 72
    assert body.startswith("Implements #1234.\n\nIssue: #1234\nRequested-by: @octo-owner\n")


def test_draft_pr_body():
    assert report.draft_pr_body(7).startswith("Closes #7\n\n<!-- codeagent:start -->\n🚧 **Work in progress**")
    assert_golden("draft_pr_body.md", report.draft_pr_body(7, RUN_URL))


def test_final_pr_body():
    section = report.pull_request_section(TARGET, RUN, USAGE, CHANGE.commit.files, CHANGE, TESTS, TRIGGER)
    assert_golden("final_pr_body.md", report.with_section(report.draft_pr_body(7, RUN_URL), section))


def test_final_pr_body_at_a_limit_with_workflow_files_left_out():
    left_out = change("textstats/__init__.py", left_out=(WORKFLOW,))
    section = report.pull_request_section(TARGET, AT_LIMIT, USAGE, left_out.commit.files, left_out, None, TRIGGER)
    assert_golden("final_pr_body.limit.md", report.with_section("Closes #7\n", section))


def test_the_action_s_section_is_replaced_and_what_people_wrote_around_it_stays():
    body = report.with_section("Closes #7\n\nReviewer: please keep this.\n\n<!-- codeagent:start -->\nold\n"
                               "<!-- codeagent:end -->\n\nAnd this.\n", "new")
    assert body == ("Closes #7\n\nReviewer: please keep this.\n\n<!-- codeagent:start -->\nnew\n"
                    "<!-- codeagent:end -->\n\nAnd this.\n")


def test_a_huge_summary_is_cut_to_fit_a_pull_request_body():
    section = report.pull_request_section(TARGET, agent_run(last_text="x" * 80_000), USAGE, (), CHANGE, None,
                                          TRIGGER)
    assert len(section) < 25_000


@pytest.mark.parametrize("name, shown", [("plain.txt", "`plain.txt`"), ("odd`name", "``odd`name``"),
                                         ("`edge`", "`` `edge` ``")])
def test_any_file_name_is_shown_as_code(name, shown):
    assert report.code(name) == shown


def test_refusal_comment():
    assert_golden("refusal_comment.md", report.marked(report.refusal_comment("drive-by", "/code")))


def test_fork_comment():
    assert_golden("fork_comment.md", report.fork_comment("forkful/textstats"))
    assert "a fork that no longer exists" in report.fork_comment(None)


def test_follow_up_reply():
    assert_golden("follow_up_reply.md", report.follow_up_reply(SUMMARY, CHANGE.commit.files))


def test_failure_comment():
    message = "stopped at the limit `timeout-minutes`"
    assert_golden("failure_comment.md", report.failure_comment(
        "Agent error", f"Claude Code {message}. What it wrote (2 files) is pushed to {PR_URL}.", RUN_URL))


def test_error_summary():
    assert job_summary.error_summary("Invalid configuration", "input `max-turns`: must be a positive integer, got 'ten'\n") == (
        "## ❌ codeagent: Invalid configuration\n\ninput `max-turns`: must be a positive integer, got 'ten'\n")


def test_step_summary_of_a_success():
    outcome = Outcome("success", TRIGGER, branch="codeagent/issue-7", pull_request=PULL, agent=RUN, usage=USAGE,
                      change=CHANGE, verification=TESTS)
    phases = {"Check who asked": 0.4, "Prepare the branch and the pull request": 2.1,
              "Run Claude Code in the sandbox": 95.4, "Commit and push": 1.2}
    assert_golden("step_summary.success.md", job_summary.step_summary(outcome, phases))


def test_step_summary_of_a_failure_at_a_limit():
    outcome = Outcome("failure", TRIGGER, message="stopped at the limit `max-turns`", branch="codeagent/issue-7",
                      pull_request=PULL, agent=AT_LIMIT, usage=replace(USAGE, blocked=(("evil.example", 3),)),
                      change=change("textstats/__init__.py", left_out=(WORKFLOW,)))
    assert_golden("step_summary.limit.md", job_summary.step_summary(outcome))


def test_step_summary_of_a_refusal_has_no_agent_numbers():
    outcome = Outcome("skipped", TRIGGER, message="@octo-owner may not use /code")
    assert job_summary.step_summary(outcome) == (
        "## codeagent: skipped\n\n| | |\n| --- | --- |\n| Trigger | `issue_comment` on #7 |\n| Who | @octo-owner |\n"
        "| Branch | — |\n| Pull request | — |\n| Result | skipped |\n\n> @octo-owner may not use /code\n")


@pytest.mark.parametrize("milliseconds, text", [(0, "0.0 s"), (632, "0.6 s"), (42_000, "42 s"), (185_000, "3 min 5 s"),
                                                (3_720_000, "1 h 2 min")])
def test_format_duration(milliseconds, text):
    assert numbers.format_duration(milliseconds) == text


@pytest.mark.parametrize("usd, text", [(0, "$0.00"), (0.0041, "$0.004"), (0.11623995, "$0.12"), (12.5, "$12.50")])
def test_format_cost(usd, text):
    assert numbers.format_cost(usd) == text


def test_no_change_at_all_keeps_the_empty_change_shape():
    assert report.left_out_notes(Change(None, ())) == [] and report.left_out_lines(Change(None, ())) == []


def test_the_step_summary_shows_a_made_up_blocked_host_as_code_only():
    host = "a`@octo-org/security`[x](https://evil.example)`b"
    outcome = Outcome("failure", TRIGGER, message="failed", branch="codeagent/issue-7", pull_request=PULL,
                      agent=AT_LIMIT, usage=replace(USAGE, blocked=((host, 1),)), change=change("a.py"))
    assert f"``{host}`` ×1" in job_summary.step_summary(outcome)
