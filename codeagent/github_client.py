"""GitHub through PyGithub, behind our own small types (`github_types`).

PyGithub objects never leave this module. Every GitHub failure a user can fix becomes a
``GitHubError`` whose message says what to change. Every text the action posts passes the
run's redaction first; requests go one at a time (GitHub asks for no concurrent requests per
token), without PyGithub's fixed pauses: `github_retry` waits only when GitHub asks to.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial, wraps
from typing import Any, Callable, TypeVar, cast
from urllib.parse import quote

from github import Auth, Github, GithubException
from github.GithubObject import NotSet
from github.PullRequest import PullRequest as _PullRequest

from codeagent.errors import GitHubError
from codeagent.github_retry import Retrying
from codeagent.github_types import Comment, FileChange, Issue, PullRequest

WRITE_PERMISSIONS = frozenset({"admin", "write"})
"""The base permissions that may push (`maintain` is `write` here, a custom role its base role)."""
FILE_STATUS = {"added": "added", "removed": "deleted", "renamed": "renamed", "copied": "added"}
RECENT = timedelta(minutes=10)
"""How far back a comment with the same body counts as ours when a retried post looks for it: longer
than one call can take (see codeagent.github_retry). Our progress and failure comments carry the run's link,
so another comment with the same text in that window is, in practice, ours."""
DISPATCHING = "starting a workflow"
T = TypeVar("T")


F = TypeVar("F", bound=Callable[..., Any])


def _api_call(action: str, find_done: Callable[..., Any] | None = None) -> Callable[[F], F]:
    """Run the wrapped method under the client's retry policy; a GithubException left becomes a GitHubError.

    ``find_done`` (same arguments as the method) looks for what an earlier attempt of a creating
    write did, so that retrying it cannot create twice.
    """

    def decorate(method: F) -> F:
        @wraps(method)
        def wrapper(self: GitHubClient, *args: Any, **kwargs: Any) -> Any:
            look = partial(find_done, self, *args, **kwargs) if find_done else None
            with self._one_at_a_time:
                try:
                    return self._retrying.call(action, partial(method, self, *args, **kwargs), look)
                except GithubException as error:
                    raise GitHubError(explain(action, error)) from error

        return cast(F, wrapper)

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
    if error.status == 403 and action == DISPATCHING:
        return f"{action}: 403 {message}. Starting a workflow needs `actions: write` in the job's `permissions:`."
    if error.status in (403, 404):
        return (
            f"{action}: {error.status} {message}. The workflow token may lack permissions: the job needs "
            "`permissions: contents: write, issues: write, pull-requests: write`."
        )
    return (f"{action}: GitHub answered {error.status}: {message}. Re-run the job; if it fails again, check "
            "https://www.githubstatus.com and the request GitHub refused, as the message above says.")


def _message_of(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    details = "; ".join(e.get("message", "") for e in data.get("errors", []) if isinstance(e, dict))
    message = data.get("message") or str(error.data or "")
    return f"{message} ({details})" if details else message


class GitHubClient:
    """The repository the action works on, through the REST (and GraphQL) API."""

    def __init__(self, token: str, repository: str, api_url: str, *, redact: Callable[[str], str] = lambda t: t,
                 on_wait: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        """Failed calls are retried as `codeagent.github_retry` describes; ``on_wait`` hears each wait
        ("GitHub rate limit: waiting 12 s (resets at 10:42:07 UTC), then …"), ``sleep`` does it,
        and ``clock`` (epoch seconds) is compared with GitHub's rate-limit reset time. ``redact``
        is applied to every text posted.
        """
        # PyGithub's fixed pauses (0.25 s between requests, 1 s between writes) are off: a run makes
        # a handful of writes, one at a time, and backs off when GitHub says so (github_retry).
        # retry=None: no retries inside PyGithub (urllib3's GithubRetry sleeps on its own clock,
        # cannot tell a comment's POST from a GET, and ends in MaxRetryError); codeagent.github_retry does them.
        # lazy: objects are fetched only when a field is read, so a reaction or an
        # edit is one request, not a GET first.
        self._github = Github(auth=Auth.Token(token), base_url=api_url, retry=None, timeout=30, lazy=True,
                              seconds_between_requests=None, seconds_between_writes=None)
        self._retrying = Retrying(api_url, sleep=sleep, clock=clock, on_wait=on_wait)
        self._repo = self._github.get_repo(repository)
        self._redact = redact
        self._one_at_a_time = threading.RLock()
        self._node_ids: dict[int, str] = {}
        """Pull requests' GraphQL ids, as seen: marking one ready needs its id, and a GET only for that is wasted."""
        self.repository = repository

    @_api_call("checking the commenter's permission")
    def permission_of(self, login: str) -> str:
        """The base permission: ``admin``, ``write``, ``read`` or ``none`` (`maintain` reads as ``write``,
        `triage` as ``read``, a custom role as its base role)."""
        try:
            return self._repo.get_collaborator_permission(login)
        except GithubException as error:
            if error.status == 404:
                return "none"
            raise

    def can_write(self, login: str) -> bool:
        """Whether ``login`` may push to the repository."""
        return self.permission_of(login) in WRITE_PERMISSIONS

    @_api_call("reading the issue")
    def issue(self, number: int) -> Issue:
        """Issue (or pull request) ``number`` as it is now."""
        issue = self._repo.get_issue(number)
        return Issue(number=issue.number, title=issue.title or "", body=issue.body or "",
                     author=issue.user.login if issue.user else "ghost",
                     is_pull_request=issue.pull_request is not None, updated_at=_iso(issue.updated_at))

    def _seen(self, pull: _PullRequest) -> PullRequest:
        """A pull request the API returned, its GraphQL id remembered."""
        self._node_ids[pull.number] = pull.node_id
        return _pull_request(pull)

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

    def comment(self, number: int, body: str) -> Comment:
        """Post a new comment on issue or pull request ``number``."""
        return self._comment(number, self._redact(body))

    @_api_call("commenting on the issue", find_done=_posted_comment)
    def _comment(self, number: int, body: str) -> Comment:
        return _comment(self._repo.get_issue(number).create_comment(body))

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace the text of comment ``comment_id`` of issue ``number``."""
        self._edit_comment(number, comment_id, self._redact(body))

    @_api_call("editing a comment")
    def _edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self._repo.get_issue(number).get_comment(comment_id).edit(body)

    @_api_call("looking for the pull request")
    def find_pull_request(self, branch: str) -> PullRequest | None:
        """The newest pull request from ``branch`` of this repository, in any state."""
        owner = self.repository.split("/")[0]
        pulls = self._repo.get_pulls(state="all", head=f"{owner}:{branch}", sort="created", direction="desc")
        for pull in pulls:
            return self._seen(pull)
        return None

    def _opened_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest | None:
        """The open pull request from ``head`` into ``base``: GitHub allows one, so it is the one we asked for."""
        owner = self.repository.split("/")[0]
        for pull in self._repo.get_pulls(state="open", head=f"{owner}:{head}", base=base):
            return self._seen(pull)
        return None

    def create_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest:
        """Open a pull request from ``head`` into ``base``."""
        return self._create_pull_request(self._redact(title), self._redact(body), head, base, draft)

    @_api_call("opening the pull request", find_done=_opened_pull_request)
    def _create_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest:
        return self._seen(self._repo.create_pull(base=base, head=head, title=title, body=body, draft=draft))

    def update_pull_request(self, number: int, *, title: str | None = None, body: str | None = None,
                            state: str | None = None) -> None:
        """Change the title, the body and/or the state (``open``, ``closed``) of a pull request."""
        self._update_pull_request(number, self._redact(title) if title is not None else None,
                                  self._redact(body) if body is not None else None, state)

    @_api_call("updating the pull request")
    def _update_pull_request(self, number: int, title: str | None, body: str | None, state: str | None) -> None:
        self._repo.get_pull(number).edit(title=_given(title), body=_given(body), state=_given(state))

    @_api_call("listing the pull request's files")
    def pull_request_files(self, number: int) -> list[FileChange]:
        """Every file the pull request changes (what its "Files changed" tab lists)."""
        return [FileChange(f.filename, FILE_STATUS.get(f.status, "modified"), f.previous_filename or None)
                for f in self._repo.get_pull(number).get_files()]

    @_api_call(DISPATCHING)
    def dispatch_workflow(self, workflow: str, ref: str) -> str:
        """Run ``workflow`` (its name, file name or id) on ``ref``; the link to its runs on ``ref``.

        Pushes made with the workflow token start no workflow; a dispatch does (it needs
        `permissions: actions: write`)."""
        found = next((w for w in self._repo.get_workflows() if workflow in (w.name, w.path.rsplit("/", 1)[-1],
                                                                             str(w.id))), None)
        if found is None:
            raise GitHubError(f"the repository has no workflow named `{workflow}`; fix `dispatch-workflows` (names "
                              "or file names of workflows that declare `workflow_dispatch`)")
        found.create_dispatch(ref, throw=True)
        # html_url is the workflow file (.../blob/main/.github/workflows/ci.yml); its runs are under actions/.
        repository_url = found.html_url.split("/blob/", 1)[0]
        return (f"{repository_url}/actions/workflows/{quote(found.path.rsplit('/', 1)[-1])}"
                f"?query={quote('branch:' + ref, safe='')}")

    @_api_call("reading the pull request")
    def pull_request(self, number: int) -> PullRequest:
        """Pull request ``number``."""
        return self._seen(self._repo.get_pull(number))

    @_api_call("reading the review comments")
    def review_comments(self, number: int) -> list[Comment]:
        """The comments on pull request ``number``'s diff, oldest first."""
        return [_comment(c, location=_location(c)) for c in self._repo.get_pull(number).get_review_comments()]

    def _posted_reply(self, number: int, comment_id: int, body: str) -> Comment | None:
        """The reply ``body`` in the thread if an attempt whose answer was lost posted it."""
        posted = [c for c in self._repo.get_pull(number).get_review_comments()
                  if c.in_reply_to_id == comment_id and c.body == body]
        return _comment(posted[-1]) if posted else None

    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> Comment:
        """Reply in the review thread that starts with comment ``comment_id``."""
        return self._reply_to_review_comment(number, comment_id, self._redact(body))

    @_api_call("replying to the review comment", find_done=_posted_reply)
    def _reply_to_review_comment(self, number: int, comment_id: int, body: str) -> Comment:
        return _comment(self._repo.get_pull(number).create_review_comment_reply(comment_id, body))

    @_api_call("marking the pull request ready for review")
    def mark_ready_for_review(self, number: int) -> None:
        """Turn a draft pull request into one ready for review (GraphQL only; one request, the node id kept)."""
        node_id = self._node_ids.get(number) or self._repo.get_pull(number).node_id
        self._github.requester.graphql_named_mutation("markPullRequestReadyForReview", {"pullRequestId": node_id},
                                                      "pullRequest { isDraft }")


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
        created_at=_iso(comment.created_at),
        updated_at=_iso(comment.updated_at),
    )


def _given(value: str | None) -> Any:
    """PyGithub's "leave it as it is" for a field not given."""
    return NotSet if value is None else value


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _location(review_comment) -> str:
    line = review_comment.line or review_comment.original_line
    return f"{review_comment.path}:{line}" if line else review_comment.path


def _pull_request(pull: _PullRequest) -> PullRequest:
    """Our type for a PyGithub pull request."""
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
