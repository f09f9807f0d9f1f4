"""GitHub's objects as the workflow sees them: small frozen types, no PyGithub in sight."""

from __future__ import annotations

from dataclasses import dataclass

from codeagent.changes import FileChange

__all__ = ["Comment", "FileChange", "Issue", "PullRequest"]


@dataclass(frozen=True)
class Issue:
    """An issue (or a pull request seen as an issue), as it stood when it was read."""

    number: int
    title: str
    body: str
    author: str
    is_pull_request: bool = False
    updated_at: str = ""
    """When it last changed (ISO 8601), as GitHub gives it; "" when not known."""


@dataclass(frozen=True)
class Comment:
    """A comment on an issue or pull request."""

    id: int
    author: str
    author_is_bot: bool
    body: str
    html_url: str
    location: str = ""
    """For a review comment: ``path:line`` it was made on."""
    created_at: str = ""
    updated_at: str = ""
    """ISO 8601 times, as GitHub gives them; a comment edited after the request is left out of the prompt."""


@dataclass(frozen=True)
class PullRequest:
    """The parts of a pull request the workflow needs."""

    number: int
    html_url: str
    state: str
    draft: bool
    merged: bool
    head: str
    base: str
    title: str = ""
    body: str = ""
    head_repository: str | None = None
    """``owner/name`` the head branch lives in; None when that fork was deleted."""
