"""Typed reads from an event payload, by dotted path like `comment.user.login`.

A field GitHub always sends that is missing or of the wrong type is an `EventError`
naming the field, never a `KeyError` or `TypeError` deep in the workflow.
"""

from typing import Any, TypeVar

from codeagent.errors import EventError

T = TypeVar("T")


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

    def _missing(self, path: str, kind: type) -> EventError:
        return EventError(f"the `{self.event_name}` event payload has no {kind.__name__} `{path}`; it does not "
                          "look like a payload GitHub sends — check the file `GITHUB_EVENT_PATH` points to")
