"""Follow-ups: `/code` on a pull request, in a review comment, on forks, closed and default-branch PRs."""

from __future__ import annotations

import dataclasses

import pytest

from codeagent.event import ReviewContext, Trigger
from codeagent.github_types import Comment, Issue
from tests.unit.fakes import FakePull
from tests.unit.test_workflow import BRANCH, REPOSITORY, World, trigger, world

PR_COMMENT_ID = 2590000100
HUNK = "@@ -1,6 +1,6 @@\n def char_count(text: str) -> int:\n     return len(text)"


def pull_request_trigger(pull: FakePull, **changes) -> Trigger:
    """`/code rename it to count_words` in the pull request's conversation."""
    subject = Issue(pull.number, pull.title, pull.body, "github-actions[bot]", is_pull_request=True)
    base = Trigger("issue_comment", REPOSITORY, "main", pull.number, "octo-owner", "rename it to count_words", True,
                   comment_id=PR_COMMENT_ID, subject=subject)
    return dataclasses.replace(base, **changes)


def with_pull(**changes) -> tuple[World, FakePull]:
    w = world(branches={"main": ["Initial commit"],
                        BRANCH: ["Initial commit", "codeagent: received #7, preparing to implement",
                                 "first implementation"]})
    pull = w.github.add_pull(changes.pop("head", BRANCH), title="Add a word_count helper", **changes)
    return w, pull


def test_code_on_the_pull_request_adds_a_commit_to_its_branch_and_nothing_else():
    w, pull = with_pull()
    w.github.threads[pull.number] = [Comment(1, "reviewer", False, "Please use a clearer name.", "https://x/1"),
                                     Comment(PR_COMMENT_ID, "octo-owner", False, "/code rename it", "https://x/2")]

    outcome = w.run(pull_request_trigger(pull))

    assert outcome.result == "success"
    assert list(w.github.pulls) == [pull.number]  # no second pull request
    assert w.branches.handed[0][0] == BRANCH
    assert len(w.branches.branches[BRANCH]) == 4
    assert w.branches.messages[-1].startswith(f"codeagent: rename it to count_words (#{pull.number})")
    assert w.github.reactions == [(pull.number, PR_COMMENT_ID, "eyes", False)]
    (prompt,) = w.sandbox.prompts
    assert "rename it to count_words" in prompt and "Please use a clearer name." in prompt
    assert "<issue_title>Add a word_count helper</issue_title>" in prompt  # the linked issue #7
    assert "/code rename it" not in prompt
    (comment,) = [body for number, body in w.github.posted if number == pull.number]
    assert "✅" in comment and pull.html_url in comment  # the progress comment, on the pull request
    assert w.github.replies == []


def test_code_in_a_review_comment_gives_the_file_line_and_hunk_and_replies_in_the_thread():
    w, pull = with_pull()
    context = ReviewContext("textstats/__init__.py", 5, None, "RIGHT", HUNK, thread_comment_id=PR_COMMENT_ID)
    asked = pull_request_trigger(pull, event_name="pull_request_review_comment", review_context=context,
                                 instructions="handle empty strings")

    outcome = w.run(asked)

    assert outcome.result == "success"
    assert w.github.reactions == [(pull.number, PR_COMMENT_ID, "eyes", True)]
    (prompt,) = w.sandbox.prompts
    assert "line 5 of `textstats/__init__.py`" in prompt and "@@ -1,6 +1,6 @@" in prompt
    ((number, thread, reply),) = w.github.replies
    assert (number, thread) == (pull.number, PR_COMMENT_ID) and "Done, pushed" in reply


@pytest.mark.parametrize("changes, said", [
    ({"head_repository": "forkful/textstats"}, "lives in `forkful/textstats`"),
    ({"state": "closed"}, "This pull request is closed"),
    ({"state": "closed", "merged": True}, "This pull request is merged"),
    ({"head": "main"}, "the repository's default branch"),
])
def test_code_on_a_pull_request_it_cannot_work_on_is_answered_and_nothing_else_happens(changes, said):
    w, pull = with_pull(**changes)

    outcome = w.run(pull_request_trigger(pull))

    assert outcome.result == "skipped"
    (comment,) = [body for number, body in w.github.posted if number == pull.number]
    assert said in comment and "<!-- codeagent:" in comment
    assert w.branches.handed == [] and w.sandbox.prompts == [] and w.github.reactions == []


def test_workflow_dispatch_of_a_pull_request_number_is_a_follow_up_on_it():
    w, pull = with_pull()

    outcome = w.run(trigger(event_name="workflow_dispatch", issue_number=pull.number, comment_id=None, subject=None,
                            requested_at="", instructions="rename it"))

    assert outcome.result == "success" and list(w.github.pulls) == [pull.number]
    assert f"codeagent/issue-{pull.number}" not in w.branches.branches
