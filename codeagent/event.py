"""The event that started the workflow, read into a `Trigger` or a `Skip`.

Only the entry point reads the event JSON; everything after it sees a `Trigger`.

| event (action)                            | `Trigger.kind`         | `issue_number`  |
|-------------------------------------------|------------------------|-----------------|
| `issue_comment` (created) on an issue     | `issue`                | the issue       |
| `issue_comment` (created) on a PR         | `pull_request_comment` | the PR          |
| `pull_request_review_comment` (created)   | `review_comment`       | the PR          |
| `pull_request_review` (submitted)         | `review`               | the PR          |
| `workflow_dispatch` (input `issue-number`)| `dispatch`             | the input       |

Fork pull requests: the review events carry the PR's head repository, so
`Trigger.is_fork` is known here. An `issue_comment` on a PR does not (GitHub sends
only `issue.pull_request` links), so `head_repository` is None and the workflow
finds the head, and whether it is a fork, through the API.
"""

import re
from dataclasses import dataclass
from typing import Literal

from codeagent.errors import EventError
from codeagent.event_payload import Payload

TriggerKind = Literal["issue", "pull_request_comment", "review_comment", "review", "dispatch"]
CommentKind = Literal["issue_comment", "review_comment"]

OWN_COMMENT_MARKER = "<!-- codeagent:"
"""Start of the hidden marker in every comment the action writes; such a comment never triggers a run."""

DELETED_FORK = "(deleted fork)"
"""`head_repository` of a PR whose fork was deleted (GitHub then sends `head.repo: null`)."""


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
    commit_id: str
    """The commit the comment was made on; the branch may have moved since."""
    thread_comment_id: int
    """The first comment of the thread: replies must target it, GitHub rejects replies to replies."""


@dataclass(frozen=True)
class Trigger:
    """A request to work on an issue or a pull request."""

    event_name: str
    repository: str
    """`owner/name` of the repository the workflow runs in (a PR's base repository)."""
    issue_number: int
    """The issue, or the pull request for the PR events (PRs share the issue numbering)."""
    actor: str
    """Login of the person who asked (the commenter, the reviewer, or who dispatched the workflow)."""
    instructions: str
    """Text after the trigger phrase (or the dispatch input); may be empty."""
    comment_id: int | None
    """The trigger comment, for the 👀 reaction and replies (see `comment_kind`); None for reviews and dispatch."""
    is_pull_request: bool
    review_context: ReviewContext | None = None
    """The file, lines and diff hunk a review comment points at; only for `review_comment`."""
    review_id: int | None = None
    """The review submitted, or the one a review comment belongs to (its other comments are in the API)."""
    head_ref: str | None = None
    """The PR's head branch; None when the event does not say (`issue_comment` on a PR)."""
    head_repository: str | None = None
    """`owner/name` the PR's head branch lives in, `DELETED_FORK`, or None when the event does not say."""
    base_ref: str | None = None
    """The branch the PR merges into; None when the event does not say."""

    @property
    def kind(self) -> TriggerKind:
        """Which of the five requests this is (see the module's table)."""
        if self.event_name == "issue_comment":
            return "pull_request_comment" if self.is_pull_request else "issue"
        return _KINDS[self.event_name]

    @property
    def comment_kind(self) -> CommentKind | None:
        """The API the trigger comment lives in, or None without one.

        Issue comments (also on PRs) react and reply through `/issues/comments/{id}`;
        review comments through `/pulls/comments/{id}` and `/pulls/{n}/comments/{id}/replies`.
        """
        if self.comment_id is None:
            return None
        return "review_comment" if self.event_name == "pull_request_review_comment" else "issue_comment"

    @property
    def is_fork(self) -> bool:
        """The PR's head is in another repository, which the workflow token cannot push to.

        False when unknown (`head_repository` None): the workflow asks the API then.
        """
        return self.head_repository is not None and self.head_repository.lower() != self.repository.lower()


@dataclass(frozen=True)
class Skip:
    """The event is not for us; the run ends successfully after logging `reason`."""

    reason: str


_KINDS: dict[str, TriggerKind] = {
    "pull_request_review_comment": "review_comment",
    "pull_request_review": "review",
    "workflow_dispatch": "dispatch",
}
_FIRST_WORD = re.compile(r"\s*(\S+)(.*)", re.DOTALL)
_REQUESTS = {
    "issue_comment": ("comment", "comment", "created"),
    "pull_request_review_comment": ("review comment", "comment", "created"),
    "pull_request_review": ("review", "review", "submitted"),
}
"""Per event: what a `Skip` calls the text, the payload field holding it, the one action that asks."""


def parse_event(event_name: str, payload: dict, trigger_phrase: str) -> Trigger | Skip:
    """Decide whether the event asks us to work on an issue or a pull request.

    Raises `EventError` when the payload lacks what GitHub always sends for the event.
    """
    if not isinstance(payload, dict):
        raise EventError(f"the `{event_name}` event payload is not a JSON object; "
                         "check the file `GITHUB_EVENT_PATH` points to")
    parser = _PARSERS.get(event_name)
    if parser is None:
        handled = ", ".join(f"`{name}`" for name in _PARSERS)
        return Skip(f"the `{event_name}` event is not handled; codeagent runs on {handled}")
    return parser(Payload(event_name, payload), trigger_phrase)


def _parse_issue_comment(event: Payload, trigger_phrase: str) -> Trigger | Skip:
    """A new comment on an issue or a pull request whose first word is the trigger phrase."""
    instructions = _request(event, trigger_phrase)
    if isinstance(instructions, Skip):
        return instructions
    return Trigger(
        event_name=event.event_name,
        repository=event.text("repository.full_name"),
        issue_number=event.number("issue.number"),
        actor=event.text("comment.user.login"),
        instructions=instructions,
        comment_id=event.number("comment.id"),
        is_pull_request=event.lookup("issue.pull_request") is not None,
    )


def _parse_review_comment(event: Payload, trigger_phrase: str) -> Trigger | Skip:
    """A new comment on a line of a pull request's diff whose first word is the trigger phrase."""
    instructions = _request(event, trigger_phrase)
    if isinstance(instructions, Skip):
        return instructions
    return Trigger(
        **_pull_request_fields(event),
        actor=event.text("comment.user.login"),
        instructions=instructions,
        comment_id=event.number("comment.id"),
        review_context=_review_context(event),
        review_id=event.optional("comment.pull_request_review_id", int),
    )


def _parse_review(event: Payload, trigger_phrase: str) -> Trigger | Skip:
    """A submitted pull request review whose text starts with the trigger phrase."""
    instructions = _request(event, trigger_phrase)
    if isinstance(instructions, Skip):
        return instructions
    return Trigger(
        **_pull_request_fields(event),
        actor=event.text("review.user.login"),
        instructions=instructions,
        comment_id=None,
        review_id=event.number("review.id"),
    )


def _pull_request_fields(event: Payload) -> dict:
    """What every trigger from a `pull_request*` event says about its pull request."""
    return dict(
        event_name=event.event_name,
        repository=event.text("repository.full_name"),
        issue_number=event.number("pull_request.number"),
        is_pull_request=True,
        head_ref=event.text("pull_request.head.ref"),
        head_repository=_head_repository(event),
        base_ref=event.text("pull_request.base.ref"),
    )


def _parse_workflow_dispatch(event: Payload, trigger_phrase: str) -> Trigger:
    """A manual run naming the issue in its `issue-number` input."""
    return Trigger(
        event_name=event.event_name,
        repository=event.text("repository.full_name"),
        issue_number=event.issue_number_input(),
        actor=event.text("sender.login"),
        instructions=event.text_input("instructions"),
        comment_id=None,
        is_pull_request=False,
    )


_PARSERS = {
    "issue_comment": _parse_issue_comment,
    "pull_request_review_comment": _parse_review_comment,
    "pull_request_review": _parse_review,
    "workflow_dispatch": _parse_workflow_dispatch,
}


def _request(event: Payload, trigger_phrase: str) -> str | Skip:
    """The instructions in the event's comment or review, or why it asks for nothing.

    Bots and the action's own comments are refused here, not only by the example
    workflow's `if:`, so that a reply the action posts can never start another run.
    """
    subject, field, asking_action = _REQUESTS[event.event_name]
    action = event.text("action")
    if action != asking_action:
        adjective = "new" if asking_action == "created" else asking_action
        return Skip(f"the {subject} was {action}, and only {adjective} {subject}s trigger a run")
    bot = event.bot_login(f"{field}.user")
    if bot:
        return Skip(f"the {subject} is by the bot `{bot}`, and bots cannot trigger a run")
    body = event.optional(f"{field}.body", str) or ""
    if OWN_COMMENT_MARKER in body:
        return Skip(f"the {subject} carries codeagent's marker `{OWN_COMMENT_MARKER}`: the action "
                    "wrote it, and its own comments never trigger a run")
    instructions = command_instructions(body, trigger_phrase)
    if instructions is None:
        return Skip(f"the {subject} does not start with `{trigger_phrase}`")
    return instructions


def command_instructions(body: str, trigger_phrase: str) -> str | None:
    """The text after `trigger_phrase` when it is the comment's first word, else None.

    `/code` and `  /code fix it` match; `/codex` and `please /code` do not.
    """
    match = _FIRST_WORD.match(body)
    if not match or match[1] != trigger_phrase:
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
        diff_hunk=event.text("comment.diff_hunk"),
        commit_id=event.text("comment.commit_id"),
        thread_comment_id=event.optional("comment.in_reply_to_id", int) or event.number("comment.id"),
    )


def _head_repository(event: Payload) -> str:
    """`owner/name` of the PR's head; `DELETED_FORK` when GitHub sends `head.repo: null`.

    Only a fork can be deleted while its pull request stays open, so null means "a fork".
    """
    head = event.lookup("pull_request.head")
    if isinstance(head, dict) and "repo" in head and head["repo"] is None:
        return DELETED_FORK
    return event.text("pull_request.head.repo.full_name")
