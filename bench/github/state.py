"""What the GitHub emulator knows: users, tokens, repositories, issues, pulls, comments, reviews, reactions.

Plain records and the rules GitHub applies to them (numbering, roles, author
association). JSON shapes live in `shapes`, HTTP in `emulator`.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ACTIONS_BOT = "github-actions[bot]"
ACTIONS_BOT_ID = 41898282
"""The identity of the workflow token (GITHUB_TOKEN), with its real id."""

ROLES = ("none", "read", "triage", "write", "maintain", "admin")
PERMISSION_OF_ROLE = {"admin": "admin", "maintain": "write", "write": "write",
                      "triage": "read", "read": "read", "none": "none"}
"""The collaborator-permission endpoint reports the legacy permission of a role."""
CUSTOM_ROLE_BASES = ("read", "triage", "write", "maintain")
"""What an organization's custom repository role can inherit from."""
PLANS = ("free", "pro", "team", "enterprise")
"""GitHub plans of the account that owns a repository; drafts on private repositories need team or enterprise."""
SCOPE_LEVELS = ("none", "read", "write")

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
BODY_LIMIT = 65536
"""GitHub refuses issue, comment and pull request bodies longer than this."""


class ApiError(Exception):
    """An error answer of the REST API: status, message and optional validation errors."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


class NotFound(ApiError):
    """The object does not exist, or the caller may not see it (GitHub answers 404 for both)."""

    def __init__(self, message: str = "Not Found"):
        super().__init__(404, message)


def now_iso() -> str:
    """The current time as GitHub writes timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def node_id(kind: str, key: object) -> str:
    """A global node id in GitHub's legacy format, e.g. ``MDQ6VXNlcjE=`` for ``04:User1``."""
    return base64.b64encode(f"{len(kind):02d}:{kind}{key}".encode()).decode()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"


@dataclass
class Pull:
    """What a pull request adds to its issue; the tips are kept for when a branch is gone."""

    id: int
    head: str
    base: str
    draft: bool
    head_sha: str
    base_sha: str
    merged: bool = False
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    head_repo: str | None = None
    """``owner/name`` of the fork the head branch lives in; None when it is in the base repository."""
    pull_ref_sha: str | None = None
    """Where ``refs/pull/N/head`` of the base repository points."""


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    author: str
    created_at: str
    updated_at: str
    state: str = "open"
    closed_at: str | None = None
    association: str | None = None
    pull: Pull | None = None
    locked: bool = False
    """A locked conversation: only people with write access can comment."""


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    author: str
    body: str
    created_at: str
    updated_at: str
    association: str | None = None


@dataclass
class ReviewComment:
    """A comment on a line of a pull request's diff; a reply shares its thread's path, line and hunk."""

    id: int
    repo: str
    pull_number: int
    review_id: int
    author: str
    body: str
    path: str
    line: int | None
    side: str
    diff_hunk: str
    position: int | None
    commit_id: str
    created_at: str
    updated_at: str
    in_reply_to: int | None = None
    association: str | None = None


@dataclass
class Review:
    id: int
    repo: str
    pull_number: int
    author: str
    body: str
    state: str
    """As the REST API writes it: ``COMMENTED``, ``APPROVED``, ``CHANGES_REQUESTED``, ``DISMISSED``."""
    commit_id: str
    submitted_at: str
    association: str | None = None


@dataclass
class Reaction:
    id: int
    repo: str
    issue_number: int
    comment_id: int | None
    content: str
    author: str
    created_at: str
    review_comment: bool = False
    """``comment_id`` is a pull request review comment's, not an issue comment's."""


@dataclass
class Dispatch:
    """A workflow run requested through the API (``workflow_dispatch``)."""

    repo: str
    workflow: str
    """The workflow file's path, ``.github/workflows/ci.yml``."""
    ref: str
    """The branch or tag, as the request named it."""
    inputs: dict[str, str]
    actor: str
    created_at: str


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    path: Path
    default_branch: str
    private: bool
    created_at: str
    roles: dict[str, str] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    parent: str | None = None
    """``owner/name`` of the repository this one is a fork of."""
    plan: str = "free"
    """The GitHub plan of the account that owns it (`PLANS`)."""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def drafts_allowed(self) -> bool:
        """Draft pull requests: in public repositories, and in private ones on the Team and Enterprise plans."""
        return not self.private or self.plan in ("team", "enterprise")

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1


class State:
    """Everything the emulator serves, behind one lock that request handlers hold."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}
        self.repos: dict[str, Repo] = {}
        self.comments: list[Comment] = []
        self.review_comments: list[ReviewComment] = []
        self.reviews: list[Review] = []
        self.reactions: list[Reaction] = []
        self.token_scopes: dict[str, dict[str, str]] = {}
        """What a token may do where its permissions are scoped (the workflow token's job ``permissions:``)."""
        self.custom_roles: dict[str, dict[str, str]] = {}
        """An organization's custom repository roles (by lower-cased owner): role name -> its base role."""
        self.workflow_ids: dict[tuple[str, str], int] = {}
        self.dispatches: list[Dispatch] = []
        # Realistic magnitudes: comment ids passed 2**31 long ago. Issue and review
        # comment ids never meet, so a reaction's comment id is never ambiguous.
        self._ids = {kind: itertools.count(start) for kind, start in {
            "user": 100001, "repo": 800000001, "issue": 3000000001, "pull": 2000000001,
            "comment": 2500000001, "reaction": 300000001, "review_comment": 1900000001,
            "review": 2600000001, "workflow": 161335, "run": 11000000001}.items()}

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def user(self, login: str, type: str | None = None) -> User:
        """The user called ``login``, created on first mention (``type`` only applies then)."""
        key = login.lower()
        if key not in self.users:
            user_id = ACTIONS_BOT_ID if login == ACTIONS_BOT else self.next_id("user")
            self.users[key] = User(login, user_id, type or ("Bot" if login.endswith("[bot]") else "User"))
        return self.users[key]

    def find_user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def token_user(self, token: str) -> User | None:
        login = self.tokens.get(token)
        return self.users[login.lower()] if login else None

    def repo(self, full_name: str, viewer: User | None = None) -> Repo:
        """The repository, if it exists and ``viewer`` (when given) may read it."""
        repo = self.repos.get(full_name.lower())
        if repo is None or (viewer is not None and self.role(repo, viewer) == "none"):
            raise NotFound()
        return repo

    def role(self, repo: Repo, user: User) -> str:
        """The user's base role (a custom role's base): explicit, owner, workflow token (contents: write),
        else by visibility."""
        name = self.role_name(repo, user)
        return self.custom_roles.get(repo.owner.lower(), {}).get(name, name)

    def role_name(self, repo: Repo, user: User) -> str:
        """The name of the user's role: a base role's, or a custom role's (``release-engineer``)."""
        if user.login.lower() in repo.roles:
            return repo.roles[user.login.lower()]
        if user.login.lower() == repo.owner.lower():
            return "admin"
        if user.type == "Bot":
            # The workflow token may write to the repository the workflow runs in, never to a fork.
            return "read" if repo.parent else "write"
        return "none" if repo.private else "read"

    def scope(self, token: str | None, name: str) -> str | None:
        """What ``token`` may do in permission ``name`` (``actions``...): none, read or write; None when the
        token's permissions are not scoped (a person's token: their role decides)."""
        scopes = self.token_scopes.get(token or "")
        return None if scopes is None else scopes.get(name, "none")

    def workflow_id(self, repo: Repo, path: str) -> int:
        """The workflow's id: given on first sight, kept."""
        key = (repo.full_name, path)
        if key not in self.workflow_ids:
            self.workflow_ids[key] = self.next_id("workflow")
        return self.workflow_ids[key]

    def association(self, repo: Repo, login: str, explicit: str | None) -> str:
        """``author_association`` as GitHub derives it, unless the caller fixed it."""
        if explicit:
            return explicit
        if login.lower() == repo.owner.lower():
            return "OWNER"
        if repo.roles.get(login.lower(), "none") != "none":
            return "COLLABORATOR"
        return "NONE"

    def issue(self, repo: Repo, number: int) -> Issue:
        if number not in repo.issues:
            raise NotFound()
        return repo.issues[number]

    def add_issue(self, repo: Repo, title: str, body: str | None, author: str, number: int | None = None,
                  association: str | None = None, pull: Pull | None = None) -> Issue:
        number = number or repo.next_number()
        if number in repo.issues:
            raise ValueError(f"{repo.full_name}#{number} exists already")
        stamp = now_iso()
        issue = Issue(number, self.next_id("issue"), title, body, self.user(author).login, stamp, stamp,
                      association=association, pull=pull)
        repo.issues[number] = issue
        return issue

    def comment(self, repo: Repo, comment_id: int) -> Comment:
        for comment in self.comments:
            if comment.id == comment_id and comment.repo == repo.full_name:
                return comment
        raise NotFound()

    def comments_on(self, repo: Repo, number: int) -> list[Comment]:
        return [c for c in self.comments if c.repo == repo.full_name and c.issue_number == number]

    def add_comment(self, repo: Repo, number: int, author: str, body: str,
                    association: str | None = None) -> Comment:
        issue = self.issue(repo, number)
        stamp = now_iso()
        comment = Comment(self.next_id("comment"), repo.full_name, number, self.user(author).login,
                          body, stamp, stamp, association)
        self.comments.append(comment)
        issue.updated_at = stamp
        return comment

    def delete_comment(self, comment: Comment | ReviewComment) -> None:
        kind = isinstance(comment, ReviewComment)
        (self.review_comments if kind else self.comments).remove(comment)
        self.reactions = [r for r in self.reactions if (r.comment_id, r.review_comment) != (comment.id, kind)]

    def reactions_on(self, repo: Repo, issue_number: int, comment_id: int | None,
                     review_comment: bool = False) -> list[Reaction]:
        return [r for r in self.reactions if r.repo == repo.full_name and r.comment_id == comment_id
                and r.review_comment == review_comment
                and (comment_id is not None or r.issue_number == issue_number)]

    def react(self, repo: Repo, issue_number: int, comment_id: int | None, content: str,
              author: str, review_comment: bool = False) -> tuple[Reaction, bool]:
        """Add a reaction; a repeated one returns the existing reaction and ``False``."""
        for reaction in self.reactions_on(repo, issue_number, comment_id, review_comment):
            if reaction.author == author and reaction.content == content:
                return reaction, False
        reaction = Reaction(self.next_id("reaction"), repo.full_name, issue_number, comment_id,
                            content, author, now_iso(), review_comment)
        self.reactions.append(reaction)
        return reaction, True

    def review_comment(self, repo: Repo, comment_id: int) -> ReviewComment:
        for comment in self.review_comments:
            if comment.id == comment_id and comment.repo == repo.full_name:
                return comment
        raise NotFound()

    def review_comments_on(self, repo: Repo, number: int) -> list[ReviewComment]:
        return [c for c in self.review_comments if c.repo == repo.full_name and c.pull_number == number]

    def reviews_on(self, repo: Repo, number: int) -> list[Review]:
        return [r for r in self.reviews if r.repo == repo.full_name and r.pull_number == number]

    def add_review(self, repo: Repo, number: int, author: str, body: str, state: str, commit_id: str,
                   association: str | None = None) -> Review:
        review = Review(self.next_id("review"), repo.full_name, number, self.user(author).login, body,
                        state, commit_id, now_iso(), association)
        self.reviews.append(review)
        self.issue(repo, number).updated_at = review.submitted_at
        return review

    def add_review_comment(self, review: Review, body: str, thread: ReviewComment | None = None,
                           **where) -> ReviewComment:
        """A comment of ``review``: in reply to ``thread`` (its first comment), else at ``where``
        (``path``, ``line``, ``side``, ``diff_hunk``, ``position``)."""
        if thread is not None:
            where = dict(path=thread.path, line=thread.line, side=thread.side, diff_hunk=thread.diff_hunk,
                         position=thread.position)
        # Written with its review, in the one submission: GitHub stamps them alike. (Stamped apart, a
        # second could pass between them, and the comment would look edited after the review.)
        stamp = review.submitted_at
        comment = ReviewComment(self.next_id("review_comment"), review.repo, review.pull_number, review.id,
                                review.author, body, commit_id=thread.commit_id if thread else review.commit_id,
                                created_at=stamp, updated_at=stamp, in_reply_to=thread.id if thread else None,
                                association=review.association, **where)
        self.review_comments.append(comment)
        return comment

    def pull_by_node_id(self, pull_node_id: str) -> tuple[Repo, Issue] | None:
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if issue.pull and node_id("PullRequest", issue.pull.id) == pull_node_id:
                    return repo, issue
        return None
