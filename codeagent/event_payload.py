"""Typed reads from an event payload, by dotted path like `comment.user.login`.

A field GitHub always sends that is missing or of the wrong type is an `EventError`
naming the field, never a `KeyError` or `TypeError` deep in the workflow.
"""

from typing import Any, TypeVar

from codeagent.errors import EventError

T = TypeVar("T")

_ISSUE_NUMBER_INPUTS = ("issue-number", "issue_number")
"""The dispatch input naming the issue; the underscore spelling is accepted too."""


class Payload:
    """The JSON of one event, as `GITHUB_EVENT_PATH` holds it."""

    def __init__(self, event_name: str, data: dict) -> None:
        self.event_name = event_name
        self._data = data

    def lookup(self, path: str) -> Any:
        """The value at `path`, or None where any part of it is missing."""
        value: Any = self._data
        for key in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def require(self, path: str, kind: type[T]) -> T:
        """The value at `path`, which must be a `kind`."""
        value = self.optional(path, kind)
        if value is None:
            raise self._missing(path, kind)
        return value

    def optional(self, path: str, kind: type[T]) -> T | None:
        """The value at `path`, which must be a `kind` or null."""
        value = self.lookup(path)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise self._missing(path, kind)
        return value

    def text(self, path: str) -> str:
        """The string at `path`."""
        return self.require(path, str)

    def number(self, path: str) -> int:
        """The integer at `path` (an id or an issue number)."""
        return self.require(path, int)

    def issue_number_input(self) -> int:
        """The `workflow_dispatch` input `issue-number` as a positive int."""
        inputs = self._inputs()
        raw = next((inputs[name] for name in _ISSUE_NUMBER_INPUTS if inputs.get(name) not in (None, "")), None)
        if raw is None:
            raise EventError("the `workflow_dispatch` run has no `issue-number` input; add `issue-number` "
                             "under `on: workflow_dispatch: inputs:` in the workflow and run it with "
                             "the number of the issue to implement")
        text = str(raw).strip().removeprefix("#")
        if isinstance(raw, bool) or not (text.isascii() and text.isdigit()) or int(text) == 0:
            raise EventError(f"the `workflow_dispatch` input `issue-number` must be an issue number "
                             f"like `7`, got {str(raw)!r}; run the workflow again with a valid number")
        return int(text)

    def text_input(self, name: str) -> str:
        """The optional `workflow_dispatch` input `name`, stripped; empty when not given."""
        value = self._inputs().get(name) or ""
        if not isinstance(value, str):
            raise EventError(f"the `workflow_dispatch` input `{name}` must be text; run the workflow again "
                             "with text in it (or declare the input as `type: string`)")
        return value.strip()

    def bot_login(self, author_path: str) -> str | None:
        """The login of the author at `author_path`, or of the sender, when it is a bot.

        Checks the login too: an app acting through a user-type account still ends in `[bot]`.
        """
        for path in (author_path, "sender"):
            user = self.lookup(path)
            if not isinstance(user, dict):
                continue
            login = user.get("login")
            if user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]")):
                return str(login)
        return None

    def _inputs(self) -> dict:
        inputs = self.lookup("inputs") or {}
        if not isinstance(inputs, dict):
            raise EventError("the `workflow_dispatch` payload's `inputs` is not an object; "
                             "check the file `GITHUB_EVENT_PATH` points to")
        return inputs

    def _missing(self, path: str, kind: type) -> EventError:
        return EventError(f"the `{self.event_name}` event payload has no {kind.__name__} `{path}`; it does not "
                          "look like a payload GitHub sends — check the file `GITHUB_EVENT_PATH` points to")
