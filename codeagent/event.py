"""The event that started the workflow, read into a `Trigger` or a `Skip`.

Only the entry point reads the event JSON; everything after it sees a `Trigger`.

| event (action)                             | `issue_number` | `subject` (as the payload carries it) |
|--------------------------------------------|----------------|---------------------------------------|
| `issue_comment` (created) on an issue      | the issue      | the issue                             |
| `issue_comment` (created) on a PR          | the PR         | the PR, seen as an issue              |
| `pull_request_review_comment` (created)    | the PR         | the PR                                |
| `pull_request_review` (submitted)          | the PR         | the PR                                |
| `workflow_dispatch` (input `issue-number`) | the input      | None: read through the API            |

The subject is the issue as it stood when the request was made: its author can edit it
afterwards, and the agent must get what the person who asked had in front of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from codeagent.errors import EventError
from codeagent.event_payload import Payload
from codeagent.github_types import Issue

CommentKind = Literal["issue_comment", "review_comment"]

OWN_COMMENT_MARKER = "<!-- codeagent:"
"""Start of the hidden marker in every comment the action writes; such a comment never triggers a run."""


@dataclass(frozen=True)
class ReviewContext:
    """Where in the diff a pull request review comment points, for the prompt."""

    path: str
    """The file, relative to the repository root."""
    line: int | None
    """Last line of the commented range (its `original_line` when outdated); None for a whole-file comment."""
    start_line: int | None
    """First line of a multi-line comment; None for a single line."""
    side: str | None
    """`RIGHT` (the PR's version of the file) or `LEFT` (the base's)."""
    diff_hunk: str
    """The diff GitHub shows above the comment, ending at `line`."""
    thread_comment_id: int
    """The first comment of the thread: replies must target it, GitHub rejects replies to replies."""


@dataclass(frozen=True)
class Trigger:
    """A request to work on an issue or a pull request."""

    event_name: str
    repository: str
    """`owner/name` of the repository the workflow runs in (a PR's base repository)."""
    default_branch: str
    """The repository's default branch, as the event says."""
    issue_number: int
    """The issue, or the pull request for the PR events (PRs share the issue numbering)."""
    actor: str
    """Login of the person who asked (the commenter, the reviewer, or who dispatched the workflow)."""
    instructions: str
    """Text after the trigger phrase (or the dispatch input); may be empty."""
    is_pull_request: bool
    comment_id: int | None = None
    """The trigger comment, for the 👀 reaction and replies (see `comment_kind`); None for reviews and dispatch."""
    subject: Issue | None = None
    """The issue or pull request as the event carries it; None for `workflow_dispatch`."""
    requested_at: str = ""
    """When the trigger comment or review was written (ISO 8601); "" for `workflow_dispatch`."""
    review_context: ReviewContext | None = None
    """The file, lines and diff hunk a review comment points at; only for `review_comment`."""

    @property
    def comment_kind(self) -> CommentKind | None:
        """The API the trigger comment lives in, or None without one.

        Issue comments (also on PRs) react and reply through `/issues/comments/{id}`;
        review comments through `/pulls/comments/{id}` and `/pulls/{n}/comments/{id}/replies`.
        """
        if self.comment_id is None:
            return None
        return "review_comment" if self.event_name == "pull_request_review_comment" else "issue_comment"


@dataclass(frozen=True)
class Skip:
    """The event is not for us; the run ends successfully after logging `reason`."""

    reason: str


@dataclass(frozen=True)
class _Request:
    """How an event kind carries a request: what a `Skip` calls it, the payload field, the asking action."""

    noun: str
    field: str
    action: str
    read: Callable[[Payload], dict]


_BLANK = " \t\r\n"
"""What separates words for the trigger phrase: the characters the example workflow's `if:` can check too."""
_FIRST_WORD = re.compile(f"[{_BLANK}]*([^{_BLANK}]+)(.*)", re.DOTALL)


def parse_event(event_name: str, payload: dict, trigger_phrase: str) -> Trigger | Skip:
    """Decide whether the event asks us to work on an issue or a pull request.

    Raises `EventError` when the payload lacks what GitHub always sends for the event.
    """
    if not isinstance(payload, dict):
        raise EventError(f"the `{event_name}` event payload is not a JSON object; "
                         "check the file `GITHUB_EVENT_PATH` points to")
    event = Payload(event_name, payload)
    if event_name == "workflow_dispatch":
        return _dispatch(event)
    request = _REQUESTS.get(event_name)
    if request is None:
        handled = ", ".join(f"`{name}`" for name in (*_REQUESTS, "workflow_dispatch"))
        return Skip(f"the `{event_name}` event is not handled; codeagent runs on {handled}")
    instructions = _instructions(event, request, trigger_phrase)
    if isinstance(instructions, Skip):
        return instructions
    return Trigger(event_name=event_name, repository=event.text("repository.full_name"),
                   default_branch=event.text("repository.default_branch"), instructions=instructions,
                   actor=event.text(f"{request.field}.user.login"),
                   requested_at=event.optional(f"{request.field}.created_at", str)
                   or event.optional(f"{request.field}.submitted_at", str) or "",
                   **request.read(event))


def _issue_comment(event: Payload) -> dict:
    """A comment on an issue or a pull request's conversation."""
    return dict(issue_number=event.number("issue.number"), comment_id=event.number("comment.id"),
                is_pull_request=event.lookup("issue.pull_request") is not None, subject=_subject(event, "issue"))


def _review_comment(event: Payload) -> dict:
    """A comment on a line of a pull request's diff."""
    return dict(issue_number=event.number("pull_request.number"), comment_id=event.number("comment.id"),
                is_pull_request=True, subject=_subject(event, "pull_request"), review_context=_review_context(event))


def _review(event: Payload) -> dict:
    """A submitted pull request review."""
    return dict(issue_number=event.number("pull_request.number"), is_pull_request=True,
                subject=_subject(event, "pull_request"))


_REQUESTS = {
    "issue_comment": _Request("comment", "comment", "created", _issue_comment),
    "pull_request_review_comment": _Request("review comment", "comment", "created", _review_comment),
    "pull_request_review": _Request("review", "review", "submitted", _review),
}


def _dispatch(event: Payload) -> Trigger:
    """A manual run naming the issue (or pull request) in its `issue-number` input."""
    return Trigger(event_name=event.event_name, repository=event.text("repository.full_name"),
                   default_branch=event.text("repository.default_branch"), issue_number=event.issue_number_input(),
                   actor=event.text("sender.login"), instructions=event.text_input("instructions"),
                   is_pull_request=False)


def _subject(event: Payload, field: str) -> Issue:
    """The issue or pull request as the payload carries it."""
    user = event.lookup(f"{field}.user")
    return Issue(number=event.number(f"{field}.number"), title=event.optional(f"{field}.title", str) or "",
                 body=event.optional(f"{field}.body", str) or "",
                 author=str(user.get("login")) if isinstance(user, dict) and user.get("login") else "ghost",
                 is_pull_request=field == "pull_request" or event.lookup("issue.pull_request") is not None)


def _instructions(event: Payload, request: _Request, trigger_phrase: str) -> str | Skip:
    """The instructions in the event's comment or review, or why it asks for nothing.

    Bots and the action's own comments are refused here, not only by the example
    workflow's `if:`, so that a reply the action posts can never start another run.
    """
    action = event.text("action")
    if action != request.action:
        adjective = "new" if request.action == "created" else request.action
        return Skip(f"the {request.noun} was {action}, and only {adjective} {request.noun}s trigger a run")
    bot = event.bot_login(f"{request.field}.user")
    if bot:
        return Skip(f"the {request.noun} is by the bot `{bot}`, and bots cannot trigger a run")
    body = event.optional(f"{request.field}.body", str) or ""
    if OWN_COMMENT_MARKER in body.lower():  # in any case, as the workflow's `contains` finds it
        return Skip(f"the {request.noun} carries codeagent's marker `{OWN_COMMENT_MARKER}`: the action "
                    "wrote it, and its own comments never trigger a run")
    instructions = command_instructions(body, trigger_phrase)
    if instructions is None:
        return Skip(f"the {request.noun} does not start with `{trigger_phrase}`")
    return instructions


def command_instructions(body: str, trigger_phrase: str) -> str | None:
    """The text after `trigger_phrase` when it is the comment's first word, else None.

    `/code`, `  /code fix it`, `/code` then a tab or a line break, and `/Code` match (the
    workflow's `startsWith` ignores case too); `/codex`, `/code-review` and `please /code` do
    not. Words are separated by spaces, tabs and line breaks only: the example workflow's `if:`
    must decide the same, and GitHub's expressions can test for a few characters, not a class.
    """
    match = _FIRST_WORD.match(body)
    if not match or match[1].lower() != trigger_phrase.lower():
        return None
    return match[2].strip()


def _review_context(event: Payload) -> ReviewContext:
    """The file, lines and diff hunk of a review comment.

    `line` is null once the comment is outdated; `original_line` still names where it was made.
    """
    line = event.optional("comment.line", int) or event.optional("comment.original_line", int)
    start_line = event.optional("comment.start_line", int) or event.optional("comment.original_start_line", int)
    return ReviewContext(
        path=event.text("comment.path"),
        line=line,
        start_line=start_line,
        side=event.optional("comment.side", str),
        diff_hunk=event.optional("comment.diff_hunk", str) or "",
        thread_comment_id=event.optional("comment.in_reply_to_id", int) or event.number("comment.id"),
    )
