"""The conversation a request comes with: the issue or pull request, and the comments before it.

The issue (or pull request) is taken as the event carries it: as it stood when the person
asked. Comments come from the API; those written after the request, or edited after it,
are left out (someone could change what the person who asked had read), and the prompt
builder is told how many were left out for the progress comment to say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeagent.event import Trigger
from codeagent.github_types import Comment, Issue
from codeagent.ports import GitHub
from codeagent.prompt import IssueThread, ThreadComment


@dataclass(frozen=True)
class Thread:
    comments: tuple[ThreadComment, ...]
    edited_after_request: int = 0
    """Comments left out because they were edited after the request was made."""


def subject(github: GitHub, trigger: Trigger, number: int) -> Issue:
    """The issue or pull request ``number``: as the event carries it when it is the trigger's, else as it is now."""
    if trigger.subject is not None and trigger.subject.number == number:
        return trigger.subject
    return github.issue(number)


def comments_for_prompt(comments: list[Comment], trigger: Trigger, up_to_request: bool = True) -> Thread:
    """The comments nobody edited after the request was made; with ``up_to_request``, only those
    before the trigger comment (a review thread's come in any order and are all kept)."""
    kept, edited = [], 0
    for comment in comments:
        if comment.id == trigger.comment_id:
            if up_to_request:
                break
            continue
        if edited_after(comment, trigger.requested_at):
            edited += 1
            continue
        kept.append(thread_comment(comment))
    return Thread(tuple(kept), edited)


def edited_after(comment: Comment, requested_at: str) -> bool:
    """Whether ``comment`` was edited after the request: GitHub's times are whole seconds, so an edit in
    the request's own second counts too (a comment only written then is not edited: its times agree)."""
    if not requested_at or not comment.updated_at:
        return False
    return comment.updated_at > requested_at or (comment.updated_at == requested_at
                                                  and comment.updated_at != comment.created_at)


def linked_issue(github: GitHub, number: int, trigger: Trigger) -> tuple[IssueThread, bool]:
    """The issue a pull request resolves, for a follow-up's prompt; with True when it changed after the request
    was made (its title and body are then left out: the person who asked had not read them)."""
    issue = subject(github, trigger, number)
    if trigger.requested_at and issue.updated_at and issue.updated_at > trigger.requested_at:
        return IssueThread(issue.number, "(left out)", "(left out: the issue changed after the request was made)",
                           issue.author), True
    return issue_thread(issue), False


def issue_thread(issue: Issue, thread: Thread = Thread(())) -> IssueThread:
    return IssueThread(issue.number, issue.title, issue.body, issue.author, thread.comments)


def thread_comment(comment: Comment) -> ThreadComment:
    body = f"(on `{comment.location}`) {comment.body}" if comment.location else comment.body
    return ThreadComment(comment.author, body, is_bot=comment.author_is_bot)
