"""GitHub through PyGithub, behind our own small types.

PyGithub objects never leave this module. Every GitHub failure a user can fix
becomes a ``GitHubError`` whose message says what to change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial, wraps
from typing import Callable, TypeVar

from github import Auth, Github, GithubException
from github.PullRequest import PullRequest as _PullRequest

from codeagent.errors import GitHubError
from codeagent.retry import Retrying

WRITE_ROLES = frozenset({"admin", "maintain", "write"})
RECENT = timedelta(minutes=10)
"""How far back a comment with the same body counts as ours when a retried post looks for it: longer
than one call can take (see codeagent.retry). Our progress and failure comments carry the run's link,
so another comment with the same text in that window is, in practice, ours."""
T = TypeVar("T")


@dataclass(frozen=True)
class Issue:
    """An issue (or a pull request seen as an issue)."""

    number: int
    title: str
    body: str
    author: str
    html_url: str
    locked: bool
    is_pull_request: bool


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


def _api_call(action: str, find_done: Callable[..., T | None] | None = None,
              ) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run the wrapped method under the client's retry policy; a GithubException left becomes a GitHubError.

    ``find_done`` (same arguments as the method) looks for what an earlier attempt of a creating
    write did, so that retrying it cannot create twice.
    """

    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        @wraps(method)
        def wrapper(self: GitHubClient, *args, **kwargs) -> T:
            look = partial(find_done, self, *args, **kwargs) if find_done else None
            try:
                return self._retrying.call(action, partial(method, self, *args, **kwargs), look)
            except GithubException as error:
                raise GitHubError(explain(action, error)) from error

        return wrapper

    return decorate


def explain(action: str, error: GithubException) -> str:
    """A one-paragraph message for a failed API call, saying what to fix."""
    message = _message_of(error)
    if error.status == 401:
        return f"{action}: the token was refused (401 {message}). Pass `github-token: ${{{{ github.token }}}}` or a valid token."
    if error.status == 403 and "not permitted to create or approve pull requests" in message:
        return (
            f"{action}: {message.rstrip('.')}. Enable it under the repository's Settings → Actions → General → "
            "Workflow permissions → \"Allow GitHub Actions to create and approve pull requests\"."
        )
    if error.status in (403, 404):
        return (
            f"{action}: {error.status} {message}. The workflow token may lack permissions: the job needs "
            "`permissions: contents: write, issues: write, pull-requests: write`."
        )
    return f"{action}: GitHub answered {error.status}: {message}"


def _message_of(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    details = "; ".join(e.get("message", "") for e in data.get("errors", []) if isinstance(e, dict))
    message = data.get("message") or str(error.data or "")
    return f"{message} ({details})" if details else message


class GitHubClient:
    """The repository the action works on, through the REST (and GraphQL) API."""

    def __init__(self, token: str, repository: str, api_url: str, *, paced: bool = True,
                 on_wait: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        """``paced=False`` drops PyGithub's pauses between requests (0.25 s, 1 s between
        writes, against GitHub's secondary rate limits); only for a local emulator.

        Failed calls are retried as `codeagent.retry` describes; ``on_wait`` hears each wait
        ("GitHub rate limit: waiting 12 s (resets at 10:42:07 UTC), then …"), ``sleep`` does it,
        and ``clock`` (epoch seconds) is compared with GitHub's rate-limit reset time.
        """
        pauses = {} if paced else {"seconds_between_requests": None, "seconds_between_writes": None}
        # retry=None: no retries inside PyGithub (urllib3's GithubRetry sleeps on its own clock,
        # cannot tell a comment's POST from a GET, and ends in MaxRetryError); codeagent.retry does them.
        # lazy: objects are fetched only when a field is read, so a reaction or an
        # edit is one request, not a GET first.
        self._github = Github(auth=Auth.Token(token), base_url=api_url, retry=None, timeout=30, lazy=True,
                              **pauses)
        self._retrying = Retrying(api_url, sleep=sleep, clock=clock, on_wait=on_wait)
        self._repo = self._github.get_repo(repository)
        self.repository = repository

    @_api_call("reading the repository")
    def default_branch(self) -> str:
        """The repository's default branch."""
        return self._repo.default_branch

    @_api_call("checking the commenter's permission")
    def role_of(self, login: str) -> str:
        """``admin``, ``maintain``, ``write``, ``triage``, ``read`` or ``none``."""
        try:
            return self._repo.get_collaborator_role_name(login)
        except GithubException as error:
            if error.status == 404:
                return "none"
            raise

    def can_write(self, login: str) -> bool:
        """Whether ``login`` has write access (admin, maintain or write)."""
        return self.role_of(login) in WRITE_ROLES

    @_api_call("reading the issue")
    def issue(self, number: int) -> Issue:
        """Issue ``number``."""
        issue = self._repo.get_issue(number)
        return Issue(
            number=issue.number,
            title=issue.title or "",
            body=issue.body or "",
            author=issue.user.login if issue.user else "ghost",
            html_url=issue.html_url,
            locked=bool(issue.locked),
            is_pull_request=issue.pull_request is not None,
        )

    @_api_call("reading the issue's comments")
    def comments(self, number: int) -> list[Comment]:
        """All comments on issue or pull request ``number``, oldest first."""
        return [_comment(c) for c in self._repo.get_issue(number).get_comments()]

    @_api_call("adding a reaction to the comment")
    def react(self, number: int, comment_id: int, content: str = "eyes", *, review_comment: bool = False) -> None:
        """Add a reaction to comment ``comment_id`` of issue or pull request ``number``
        (a review comment on a diff when ``review_comment``)."""
        if review_comment:
            self._repo.get_pull(number).get_review_comment(comment_id).create_reaction(content)
        else:
            self._repo.get_issue(number).get_comment(comment_id).create_reaction(content)

    def _posted_comment(self, number: int, body: str) -> Comment | None:
        """The comment ``body`` on ``number`` (the newest) if an attempt whose answer was lost posted it."""
        since = datetime.now(timezone.utc) - RECENT
        posted = [c for c in self._repo.get_issue(number).get_comments(since=since) if c.body == body]
        return _comment(posted[-1]) if posted else None

    @_api_call("commenting on the issue", find_done=_posted_comment)
    def comment(self, number: int, body: str) -> Comment:
        """Post a new comment on issue or pull request ``number``."""
        return _comment(self._repo.get_issue(number).create_comment(body))

    @_api_call("editing a comment")
    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace the text of comment ``comment_id`` of issue ``number``."""
        self._repo.get_issue(number).get_comment(comment_id).edit(body)

    @_api_call("looking for the pull request")
    def find_pull_request(self, branch: str) -> PullRequest | None:
        """The newest pull request from ``branch`` of this repository, in any state."""
        owner = self.repository.split("/")[0]
        pulls = self._repo.get_pulls(state="all", head=f"{owner}:{branch}", sort="created", direction="desc")
        for pull in pulls:
            return _pull_request(pull)
        return None

    def _opened_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest | None:
        """The open pull request from ``head`` into ``base``: GitHub allows one, so it is the one we asked for."""
        owner = self.repository.split("/")[0]
        for pull in self._repo.get_pulls(state="open", head=f"{owner}:{head}", base=base):
            return _pull_request(pull)
        return None

    @_api_call("opening the pull request", find_done=_opened_pull_request)
    def create_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest:
        """Open a pull request from ``head`` into ``base``."""
        return _pull_request(self._repo.create_pull(base=base, head=head, title=title, body=body, draft=draft))

    @_api_call("updating the pull request")
    def update_pull_request(self, number: int, *, body: str | None = None, state: str | None = None) -> None:
        """Change the body and/or the state (``open``, ``closed``) of a pull request."""
        fields = {key: value for key, value in (("body", body), ("state", state)) if value is not None}
        self._repo.get_pull(number).edit(**fields)

    @_api_call("reading the pull request")
    def pull_request(self, number: int) -> PullRequest:
        """Pull request ``number``."""
        return _pull_request(self._repo.get_pull(number))

    @_api_call("reading the review comments")
    def review_comments(self, number: int) -> list[Comment]:
        """The comments on pull request ``number``'s diff, oldest first."""
        return [_comment(c, location=_location(c)) for c in self._repo.get_pull(number).get_review_comments()]

    def _posted_reply(self, number: int, comment_id: int, body: str) -> Comment | None:
        """The reply ``body`` in the thread if an attempt whose answer was lost posted it."""
        posted = [c for c in self._repo.get_pull(number).get_review_comments()
                  if c.in_reply_to_id == comment_id and c.body == body]
        return _comment(posted[-1]) if posted else None

    @_api_call("replying to the review comment", find_done=_posted_reply)
    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> Comment:
        """Reply in the review thread that starts with comment ``comment_id``."""
        return _comment(self._repo.get_pull(number).create_review_comment_reply(comment_id, body))

    @_api_call("marking the pull request ready for review")
    def mark_ready_for_review(self, number: int) -> None:
        """Turn a draft pull request into one ready for review (GraphQL only)."""
        pull = self._repo.get_pull(number)
        if pull.draft:
            pull.mark_ready_for_review()


def _comment(comment, location: str = "") -> Comment:
    user = comment.user  # None for some deleted accounts: GitHub shows them as "ghost"
    login = user.login if user else "ghost"
    return Comment(
        id=comment.id,
        author=login,
        author_is_bot=bool(user) and (user.type == "Bot" or login.endswith("[bot]")),
        body=comment.body or "",
        html_url=comment.html_url,
        location=location,
    )


def _location(review_comment) -> str:
    line = review_comment.line or review_comment.original_line
    return f"{review_comment.path}:{line}" if line else review_comment.path


def _pull_request(pull: _PullRequest) -> PullRequest:
    return PullRequest(
        number=pull.number,
        html_url=pull.html_url,
        state=pull.state,
        draft=bool(pull.draft),
        merged=bool(pull.merged),
        head=pull.head.ref,
        base=pull.base.ref,
        title=pull.title or "",
        body=pull.body or "",
        head_repository=pull.head.repo.full_name if pull.head.repo else None,
    )
