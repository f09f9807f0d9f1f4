"""The ``expect:`` checks on hand-made reports: each passes on what it describes and fails otherwise."""

from __future__ import annotations

import pytest

from tests.e2e.expectations import check_expectations, check_invariants

PROGRESS = {"id": 2, "issue_number": 7, "author": "github-actions[bot]",
            "body": "<!-- codeagent:progress run=1 -->\n\n✅ **Done.** 3 turns · $0.01"}


def report(**changes) -> dict:
    edit = "/repos/o/r/issues/comments/2"
    base = {
        "exit_code": 0, "outputs": {"result": "success", "turns": "3", "cost-usd": "0.0123"},
        "step_summary": "## codeagent: success",
        "pulls": [{"state": "closed", "body": "Closes #7\n\nLeft out: x\n\n## Files changed\n\n- `a.py`\n"
                                               "- ``odd`name.md`` (added)\n\n---\n", "title": "[WIP] Add it",
                   "draft": False}],
        "branches": [{"name": "codeagent/issue-7", "commits": [{"message": "codeagent: received #7"},
                                                               {"message": "codeagent: Add a helper (#7)\n\nBody"}]}],
        "review_comments": [], "git_config_left": [],
        "issue_comments": [{"id": 1, "issue_number": 7, "author": "octo-owner", "body": "/code"}, PROGRESS],
        "bench_comment_ids": [1], "duration_s": 20.0, "cancel": None,
        "workflow_dispatches": [{"workflow": ".github/workflows/ci.yml", "ref": "codeagent/issue-7", "inputs": {},
                                 "actor": "github-actions[bot]"}],
        "transcript_result": {"type": "result", "num_turns": 3, "total_cost_usd": 0.01234},
        "api_requests": [{"method": "POST", "path": "/repos/o/r/issues/7/comments", "status": 502, "time": 1.0},
                         {"method": "POST", "path": "/repos/o/r/issues/7/comments", "status": 201, "time": 2.0},
                         {"method": "PATCH", "path": edit, "status": 200, "time": 7.0},
                         {"method": "PATCH", "path": edit, "status": 500, "time": 8.0},
                         {"method": "PATCH", "path": edit, "status": 200, "time": 11.95},
                         {"method": "PATCH", "path": edit, "status": 200, "time": 13.0}],
    }
    return {**base, **changes}


@pytest.mark.parametrize("expect", [
    {"comment_contains": ["done", "3 TURNS"]},
    {"min_edits": 3, "max_edit_rate_s": 5},
    {"outputs": {"result": "success", "turns": "[0-9]+", "cost-usd": r"0\.01\d+"}},
    {"outputs_match_transcript": True},
    {"api_statuses": {"POST /issues/7/comments$": [502, 201]}},
    {"pull_states": ["closed"], "pull_body_contains": ["left out"], "step_summary_contains": ["SUCCESS"]},
    {"duration_below_s": 21},
    {"pull_files_changed": ["- `a.py`", "- ``odd`name.md`` (added)"]},
    {"commit_subjects": {"codeagent/issue-7": ["received #7", "add a helper"]}},
    {"workflow_dispatches": [{"workflow": "ci.yml", "ref": "codeagent/issue-7"}]},
    {"pull_titles": ["[WIP] Add it"], "pull_drafts": [False]},
    {"workflow_dispatches": [{"workflow": ".github/workflows/ci.yml", "ref": "codeagent/issue-7"}]},
])
def test_a_report_that_holds_passes(expect):
    check_expectations(expect, report())


@pytest.mark.parametrize("expect, changes", [
    ({"comment_contains": ["cancelled"]}, {}),
    ({"min_edits": 4}, {}),
    ({"max_edit_rate_s": 6}, {}),
    ({"outputs": {"turns": "3.*", "result": "succ"}}, {}),
    ({"outputs_match_transcript": True}, {"transcript_result": None}),
    ({"outputs_match_transcript": True}, {"outputs": {"turns": "2", "cost-usd": "0.0123"}}),
    ({"api_statuses": {"POST /issues/7/comments$": [201]}}, {}),
    ({"cancel_ends_within_s": 5}, {}),
    ({"cancel_ends_within_s": 5}, {"cancel": {"at_s": 8.0, "signals": ["SIGINT", "SIGTERM"]}}),
    ({"duration_below_s": 20}, {}),
    ({"pull_files_changed": ["- `a.py`"]}, {}),
    ({"pull_files_changed": ["- `a.py`", "- ``odd`name.md`` (added)"]}, {"pulls": [{"body": "no list"}]}),
    ({"commit_subjects": {"codeagent/issue-7": ["received #7"]}}, {}),
    ({"commit_subjects": {"codeagent/issue-7": ["received #7", "Body"]}}, {}),
    ({"no_such_check": 1}, {}),
    ({"workflow_dispatches": [{"workflow": "ci.yml", "ref": "main"}]}, {}),
    ({"workflow_dispatches": [{"workflow": "lint.yml", "ref": "codeagent/issue-7"}]}, {}),
    ({"workflow_dispatches": []}, {}),
    ({"pull_titles": ["Add it"]}, {}),
    ({"pull_drafts": [True]}, {}),
])
def test_a_report_that_does_not_hold_fails(expect, changes):
    with pytest.raises(AssertionError):
        check_expectations(expect, report(**changes))


def test_a_cancel_that_ended_in_time_passes():
    check_expectations({"cancel_ends_within_s": 5}, report(cancel={"at_s": 17.0, "signals": ["SIGINT"]}))


def test_every_report_holds_the_invariants():
    check_invariants(report())


@pytest.mark.parametrize("changes", [
    {"git_config_left": [{"path": "/github/home/.gitconfig", "text": "[safe]\n\tdirectory = /github/workspace\n"}]},
    {"issue_comments": [{"id": 3, "issue_number": 7, "author": "github-actions[bot]", "body": "Sorry, no."}]},
    {"review_comments": [{"id": 4, "author": "github-actions[bot]", "body": "Done.", "in_reply_to": 1}]},
])
def test_a_global_git_config_or_an_unmarked_comment_fails_the_invariants(changes):
    with pytest.raises(AssertionError):
        check_invariants(report(**changes))
