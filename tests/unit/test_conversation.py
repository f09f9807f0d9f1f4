"""Which comments of a thread reach the prompt: none edited after the request, to the second."""

from __future__ import annotations

import pytest

from codeagent.conversation import edited_after
from codeagent.github_types import Comment

REQUEST = "2026-11-30T10:00:05Z"


def comment(created: str, updated: str) -> Comment:
    return Comment(1, "someone", False, "text", "https://github.com/o/r/issues/1#issuecomment-1",
                   created_at=created, updated_at=updated)


@pytest.mark.parametrize("created, updated, edited", [
    ("2026-11-30T09:59:00Z", "2026-11-30T09:59:00Z", False),  # written before, never edited
    ("2026-11-30T09:59:00Z", "2026-11-30T10:00:01Z", False),  # edited before the request
    ("2026-11-30T09:59:00Z", "2026-11-30T10:00:06Z", True),   # edited after it
    ("2026-11-30T09:59:00Z", REQUEST, True),                  # edited in the request's own second
    (REQUEST, REQUEST, False),                                # written in that second, never edited
])
def test_an_edit_in_the_request_s_own_second_counts_as_after_it(created, updated, edited):
    assert edited_after(comment(created, updated), REQUEST) is edited


def test_without_a_request_time_nothing_is_left_out():
    assert not edited_after(comment("2026-11-30T09:59:00Z", "2026-11-30T11:00:00Z"), "")
