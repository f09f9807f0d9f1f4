"""The event that started the workflow, read into a `Trigger` or a `Skip`.

Only the entry point reads the event JSON; everything after it sees a `Trigger`.
"""

import re
from dataclasses import dataclass
from typing import Any

from codeagent.errors import EventError


@dataclass(frozen=True)
class Trigger:
    """A request to implement an issue."""

    event_name: str
    repository: str
    """`owner/name`."""
    issue_number: int
    actor: str
    """Login of the person who asked (the commenter, or who dispatched the workflow)."""
    instructions: str
    """Text after the trigger phrase (or the dispatch input); may be empty."""
    comment_id: int | None
    """The trigger comment, for the 👀 reaction; None for `workflow_dispatch`."""
    is_pull_request: bool


@dataclass(frozen=True)
class Skip:
    """The event is not for us; the run ends successfully after logging `reason`."""

    reason: str


_FIRST_WORD = re.compile(r"\s*(\S+)(.*)", re.DOTALL)
_ISSUE_NUMBER_INPUTS = ("issue-number", "issue_number")


def parse_event(event_name: str, payload: dict, trigger_phrase: str) -> Trigger | Skip:
    """Decide whether the event asks us to implement an issue.

    Raises `EventError` when the payload lacks what GitHub always sends for the event.
    """
    if not isinstance(payload, dict):
        raise EventError(f"the `{event_name}` event payload is not a JSON object; "
                         "check the file `GITHUB_EVENT_PATH` points to")
    if event_name == "issue_comment":
        return _parse_issue_comment(payload, trigger_phrase)
    if event_name == "workflow_dispatch":
        return _parse_workflow_dispatch(payload)
    return Skip(f"the `{event_name}` event is not handled; codeagent runs on `issue_comment` "
                "and `workflow_dispatch`")


def _parse_issue_comment(payload: dict, trigger_phrase: str) -> Trigger | Skip:
    """A new comment whose first word is the trigger phrase, by a person, on an issue."""
    event = "issue_comment"
    action = _get(payload, event, "action", str)
    if action != "created":
        return Skip(f"the comment was {action}, and only new comments trigger a run")
    instructions = command_instructions(_get(payload, event, "comment.body", str, none_as=""), trigger_phrase)
    if instructions is None:
        return Skip(f"the comment does not start with `{trigger_phrase}`")
    bot = _bot_login(payload, event)
    if bot:
        return Skip(f"the comment is by the bot `{bot}`, and bots cannot trigger a run")
    number = _get(payload, event, "issue.number", int)
    if _lookup(payload, "issue.pull_request") is not None:
        return Skip(f"#{number} is a pull request; pull requests are not supported yet, "
                    f"comment `{trigger_phrase}` on an issue instead")
    return Trigger(
        event_name=event,
        repository=_get(payload, event, "repository.full_name", str),
        issue_number=number,
        actor=_get(payload, event, "comment.user.login", str),
        instructions=instructions,
        comment_id=_get(payload, event, "comment.id", int),
        is_pull_request=False,
    )


def _parse_workflow_dispatch(payload: dict) -> Trigger:
    """A manual run naming the issue in its `issue-number` input."""
    event = "workflow_dispatch"
    inputs = _lookup(payload, "inputs") or {}
    if not isinstance(inputs, dict):
        raise EventError("the `workflow_dispatch` payload's `inputs` is not an object; "
                         "check the file `GITHUB_EVENT_PATH` points to")
    instructions = inputs.get("instructions") or ""
    if not isinstance(instructions, str):
        raise EventError("the `workflow_dispatch` input `instructions` must be text")
    return Trigger(
        event_name=event,
        repository=_get(payload, event, "repository.full_name", str),
        issue_number=_dispatch_issue_number(inputs),
        actor=_get(payload, event, "sender.login", str),
        instructions=instructions.strip(),
        comment_id=None,
        is_pull_request=False,
    )


def command_instructions(body: str, trigger_phrase: str) -> str | None:
    """The text after `trigger_phrase` when it is the comment's first word, else None.

    `/code` and `  /code fix it` match; `/codex` and `please /code` do not.
    """
    match = _FIRST_WORD.match(body)
    if not match or match[1] != trigger_phrase:
        return None
    return match[2].strip()


def _dispatch_issue_number(inputs: dict) -> int:
    """The `issue-number` input as a positive int, or an error saying how to run it again."""
    raw = next((inputs[name] for name in _ISSUE_NUMBER_INPUTS if inputs.get(name) not in (None, "")), None)
    if raw is None:
        raise EventError("the `workflow_dispatch` run has no `issue-number` input; add `issue-number` "
                         "under `on: workflow_dispatch: inputs:` in the workflow and run it with "
                         "the number of the issue to implement")
    text = str(raw).strip().removeprefix("#")
    if isinstance(raw, bool) or not text.isdigit() or int(text) == 0:
        raise EventError(f"the `workflow_dispatch` input `issue-number` must be an issue number "
                         f"like `7`, got {str(raw)!r}; run the workflow again with a valid number")
    return int(text)


def _bot_login(payload: dict, event: str) -> str | None:
    """The login of the comment's author or the event's sender when it is a bot."""
    for path in ("comment.user", "sender"):
        user = _lookup(payload, path)
        if not isinstance(user, dict):
            continue
        login = user.get("login")
        if user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]")):
            return str(login)
    return None


def _lookup(payload: dict, path: str) -> Any:
    """The value at a dotted `path`, or None where any part is missing."""
    value: Any = payload
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _get(payload: dict, event: str, path: str, kind: type, none_as: Any = None) -> Any:
    """The value at `path`, checked to be a `kind`, or an `EventError` naming the field."""
    value = _lookup(payload, path)
    if value is None and none_as is not None:
        return none_as
    if not isinstance(value, kind) or isinstance(value, bool):
        raise EventError(f"the `{event}` event payload has no {kind.__name__} `{path}`; it does not "
                         "look like a payload GitHub sends — check the file `GITHUB_EVENT_PATH` points to")
    return value
