"""Follow-ups: `/code` again on an issue, on its pull request, in a review; forks."""

from __future__ import annotations

import dataclasses

from codeagent import workflow
from codeagent.event import ReviewContext, Trigger
from codeagent.github_client import Comment
from codeagent.log import Log
from tests.unit.fakes import FakePull
from tests.unit.test_workflow import BRANCH, RUN_URL, fakes, settings, trigger

PR_COMMENT_ID = 2590000100
HUNK = "@@ -1,6 +1,6 @@\n def char_count(text: str) -> int:\n     return len(text)"


def pull_request_trigger(pull: FakePull, **changes) -> Trigger:
    """`/code rename it to count_words` in the pull request's conversation."""
    base = Trigger("issue_comment", "octo-org/textstats", pull.number, "octo-owner", "rename it to count_words",
                   PR_COMMENT_ID, True)
    return dataclasses.replace(base, **changes)


def run_on(run, trigger_: Trigger) -> workflow.Outcome:
    return workflow.run(trigger_, settings(), run.github, run.workspace, run.agent, Log(), RUN_URL)


def existing_pull(run, **changes) -> FakePull:
    run.workspace.remote_branches.add(BRANCH)
    run.workspace.pushed[BRANCH] = ["codeagent: received #7, preparing to implement", "first implementation"]
    pull = run.github.add_pull(BRANCH)
    for name, value in changes.items():
        setattr(pull, name, value)
    return pull


def test_code_on_the_pull_request_adds_a_commit_to_its_branch_and_nothing_else():
    run = fakes()
    pull = existing_pull(run, title="Add a word_count helper")
    run.github.pull_conversation = [Comment(1, "reviewer", False, "Please use a clearer name.", "https://x/1"),
                                    Comment(PR_COMMENT_ID, "octo-owner", False, "/code rename it", "https://x/2")]

    outcome = run_on(run, pull_request_trigger(pull))

    assert outcome.result == "success"
    assert list(run.github.pulls) == [pull.number]  # no second pull request
    assert run.workspace.started == [(BRANCH, f"origin/{BRANCH}")]
    assert run.workspace.pushed[BRANCH][:2] == ["codeagent: received #7, preparing to implement",
                                                 "first implementation"]
    assert len(run.workspace.pushed[BRANCH]) == 3
    assert run.workspace.pushed[BRANCH][2].startswith(f"codeagent: Add a word_count helper (#{pull.number})")
    assert run.github.reactions == [(pull.number, PR_COMMENT_ID, "eyes")]
    (prompt,) = run.agent.prompts
    assert "rename it to count_words" in prompt and "Please use a clearer name." in prompt
    assert "<issue_title>Add a word_count helper</issue_title>" in prompt  # the linked issue #7
    assert "/code rename it" not in prompt
    (comment,) = [body for number, body in run.github.posted if number == pull.number]
    assert "✅" in comment and pull.html_url in comment  # the progress comment, on the pull request
    assert pull.body == "Closes #7" and run.github.replies == []


def test_code_in_a_review_comment_gives_the_file_line_and_hunk_and_replies_in_the_thread():
    run = fakes()
    pull = existing_pull(run)
    review = ReviewContext(path="textstats/__init__.py", line=5, start_line=None, side="RIGHT",
                           diff_hunk=HUNK, commit_id="c" * 40, thread_comment_id=4242)
    run.github.review_thread = [Comment(4242, "reviewer", False, "Empty strings?", "https://x/r",
                                        location="textstats/__init__.py:5")]
    trigger_ = pull_request_trigger(pull, event_name="pull_request_review_comment", comment_id=4343,
                                    instructions="handle empty strings", review_context=review,
                                    head_ref=BRANCH, head_repository="octo-org/textstats")

    outcome = run_on(run, trigger_)

    assert outcome.result == "success"
    (prompt,) = run.agent.prompts
    assert "line 5 of `textstats/__init__.py`" in prompt and "def char_count" in prompt
    assert "(on `textstats/__init__.py:5`) Empty strings?" in prompt
    ((number, thread, reply),) = run.github.replies
    assert (number, thread) == (pull.number, 4242) and reply.startswith("Done, pushed to this pull request.")


def test_code_on_a_pull_request_from_a_fork_is_answered_and_nothing_else_happens():
    run = fakes()
    pull = existing_pull(run, head_repository="forkful/textstats", head="patch-1")

    outcome = run_on(run, pull_request_trigger(pull))

    assert outcome.result == "skipped"
    (comment,) = [body for number, body in run.github.posted if number == pull.number]
    assert "`forkful/textstats`" in comment and "cannot" in comment
    assert run.github.reactions == [] and run.agent.prompts == [] and run.workspace.started == []


def test_code_again_on_the_issue_continues_the_branch_and_reopens_its_closed_pull_request():
    run = fakes()
    pull = existing_pull(run, state="closed")
    run.github.pull_conversation = [Comment(5, "reviewer", False, "Looks close, but add a docstring.", "x")]

    outcome = run_on(run, trigger())

    assert outcome.result == "success" and outcome.pull_request.number == pull.number
    assert pull.state == "open" and list(run.github.pulls) == [pull.number]
    assert len(run.workspace.pushed[BRANCH]) == 3  # no second first commit; the new work on top
    assert "Looks close, but add a docstring." in run.agent.prompts[0]  # the pull request's conversation


def test_after_a_merge_code_again_starts_afresh_from_the_base_branch_with_a_new_pull_request():
    run = fakes()
    merged = existing_pull(run, state="closed", merged=True)

    outcome = run_on(run, trigger())

    assert outcome.pull_request.number != merged.number
    assert run.workspace.started == [(BRANCH, "main")]
    assert run.workspace.pushed[BRANCH][0] == "codeagent: received #7, preparing to implement"


def test_the_agents_session_is_kept_with_the_branch_and_resumed_by_the_next_run():
    run = fakes()

    run_on(run, trigger())
    assert run.agent.resumed == [None]  # nothing kept yet: a fresh session
    note = run.workspace.notes[f"refs/notes/codeagent/{BRANCH}"]
    assert note == "session 8fead0b4-a1f2-4fdd-b120-48f51aab9808"

    run_on(run, trigger())
    assert run.agent.restored[-1] == note and run.agent.resumed[-1] == "session-from-note"


def test_after_a_merge_the_old_branch_is_deleted_before_the_fresh_start():
    run = fakes()
    existing_pull(run, state="closed", merged=True)

    run_on(run, trigger())

    assert f"delete branch {BRANCH}" in run.journal
    assert run.journal.index(f"delete branch {BRANCH}") < run.journal.index(f"push {BRANCH}")
    assert len(run.workspace.pushed[BRANCH]) == 2  # the first commit and the new work, nothing merged before


def test_code_on_a_closed_or_merged_pull_request_is_answered_and_nothing_else_happens():
    for merged, said in ((True, "merged"), (False, "closed")):
        run = fakes()
        pull = existing_pull(run, state="closed", merged=merged)

        outcome = run_on(run, pull_request_trigger(pull))

        assert outcome.result == "skipped"
        (comment,) = [body for number, body in run.github.posted if number == pull.number]
        assert f"This pull request is {said}" in comment
        assert run.agent.prompts == [] and run.workspace.started == []


def test_code_on_a_pull_request_from_the_default_branch_is_refused():
    run = fakes()
    pull = existing_pull(run, head="main")

    outcome = run_on(run, pull_request_trigger(pull))

    assert outcome.result == "skipped" and run.agent.prompts == []
    assert "default branch" in [body for number, body in run.github.posted if number == pull.number][0]
