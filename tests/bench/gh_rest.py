"""The REST endpoints of the GitHub emulator: one small function per route.

Each route has the path GitHub documents, relative to the API root (``/api/v3``
on GitHub Enterprise Server), and the documentation URL GitHub puts in its errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote, urlencode

from tests.bench import gh_git
from tests.bench.gh_shapes import Renderer
from tests.bench.gh_state import (
    BODY_LIMIT, REACTIONS, ROLES, ApiError, Issue, NotFound, Pull, Repo, State, User, now_iso,
)

DOCS = "https://docs.github.com/rest"
REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error_body(status: int, message: str, doc: str, errors: list[dict] | None = None) -> dict[str, Any]:
    """GitHub's error JSON."""
    return {"message": message, **({"errors": errors} if errors else {}),
            "documentation_url": doc, "status": str(status)}


def validation_failed(*errors: dict) -> ApiError:
    return ApiError(422, "Validation Failed", list(errors))


@dataclass
class Call:
    """One request to a route: who asks, the path parameters, the query and the JSON body."""

    state: State
    render: Renderer
    user: User
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]

    @property
    def repo(self) -> Repo:
        return self.state.repo(f"{self.params['owner']}/{self.params['name']}", viewer=self.user)

    def number(self, key: str = "number") -> int:
        return int(self.params[key])

    def require(self, role: str, unless_author: str | None = None) -> None:
        """Refuse unless the caller has ``role`` on the repository (or wrote the object)."""
        if self.user.login == unless_author:
            return
        if ROLES.index(self.state.role(self.repo, self.user)) < ROLES.index(role):
            who = "integration" if self.user.type == "Bot" else "personal access token"
            raise ApiError(403, f"Resource not accessible by {who}")

    def text(self, key: str, resource: str) -> str:
        """A required string field of the body, at most BODY_LIMIT characters."""
        value = self.body.get(key)
        if not isinstance(value, str):
            raise ApiError(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
        check_length(value, resource, key)
        return value


def check_length(value: str | None, resource: str, key: str) -> None:
    if value and len(value) > BODY_LIMIT:
        raise validation_failed({"resource": resource, "code": "custom", "field": key,
                                 "message": f"{key} is too long (maximum is {BODY_LIMIT} characters)"})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[[Call], Reply]
    doc: str


ROUTES: list[Route] = []


def route(method: str, pattern: str, doc: str) -> Callable:
    def register(handler: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
        ROUTES.append(Route(method, re.compile(f"^{pattern}$"), handler, f"{DOCS}/{doc}"))
        return handler
    return register


def handle(state: State, render: Renderer, user: User, method: str, path: str, query: dict[str, str],
           body: dict[str, Any]) -> Reply | None:
    """Answer a REST request; None when no route serves it."""
    for candidate in ROUTES:
        match = candidate.pattern.match(path)
        if match and candidate.method == method:
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            try:
                return candidate.handler(Call(state, render, user, path, params, query, body))
            except ApiError as error:
                return Reply(error.status, error_body(error.status, error.message, candidate.doc, error.errors))
    return None


def paginated(call: Call, items: list[Any]) -> Reply:
    """One page of ``items`` with GitHub's ``Link`` header (per_page 30 by default, 100 at most)."""
    per_page = max(1, min(int(call.query.get("per_page", 30)), 100))
    page, last = max(1, int(call.query.get("page", 1))), max(1, math.ceil(len(items) / per_page))
    base = call.render.links.api + call.path

    def link(number: int, rel: str) -> str:
        return f'<{base}?{urlencode({**call.query, "page": number})}>; rel="{rel}"'

    links = ([link(page + 1, "next"), link(last, "last")] if page < last else []) + \
        ([link(page - 1, "prev"), link(1, "first")] if page > 1 else [])
    return Reply(200, items[(page - 1) * per_page:page * per_page], {"Link": ", ".join(links)} if links else {})


def created(data: dict[str, Any]) -> Reply:
    return Reply(201, data, {"Location": data["url"]})


@route("GET", "/user", "users/users#get-the-authenticated-user")
def get_authenticated_user(call: Call) -> Reply:
    if call.user.type == "Bot":
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, call.render.user(call.user))


@route("GET", "/users/(?P<login>[^/]+)", "users/users#get-a-user")
def get_user(call: Call) -> Reply:
    user = call.state.find_user(call.params["login"])
    if user is None:
        raise NotFound()
    return Reply(200, call.render.user(user))


@route("GET", REPO, "repos/repos#get-a-repository")
def get_repo(call: Call) -> Reply:
    return Reply(200, call.render.repo(call.repo, viewer=call.user))


@route("GET", REPO + "/collaborators/(?P<login>[^/]+)/permission",
       "collaborators/collaborators#get-repository-permissions-for-a-user")
def get_collaborator_permission(call: Call) -> Reply:
    user = call.state.find_user(call.params["login"])
    if user is None:
        raise NotFound()
    return Reply(200, call.render.collaborator_permission(call.repo, user))


@route("GET", REPO + r"/issues/(?P<number>\d+)", "issues/issues#get-an-issue")
def get_issue(call: Call) -> Reply:
    return Reply(200, call.render.issue(call.repo, call.state.issue(call.repo, call.number())))


@route("GET", REPO + r"/issues/(?P<number>\d+)/comments", "issues/comments#list-issue-comments")
def list_issue_comments(call: Call) -> Reply:
    repo = call.repo
    call.state.issue(repo, call.number())
    return paginated(call, [call.render.comment(repo, c) for c in call.state.comments_on(repo, call.number())])


@route("POST", REPO + r"/issues/(?P<number>\d+)/comments", "issues/comments#create-an-issue-comment")
def create_issue_comment(call: Call) -> Reply:
    repo, body = call.repo, call.text("body", "IssueComment")
    comment = call.state.add_comment(repo, call.number(), call.user.login, body)
    return created(call.render.comment(repo, comment))


@route("GET", REPO + r"/issues/comments/(?P<id>\d+)", "issues/comments#get-an-issue-comment")
def get_issue_comment(call: Call) -> Reply:
    return Reply(200, call.render.comment(call.repo, call.state.comment(call.repo, call.number("id"))))


@route("PATCH", REPO + r"/issues/comments/(?P<id>\d+)", "issues/comments#update-an-issue-comment")
def update_issue_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    call.require("triage", unless_author=comment.author)
    comment.body, comment.updated_at = call.text("body", "IssueComment"), now_iso()
    return Reply(200, call.render.comment(call.repo, comment))


@route("DELETE", REPO + r"/issues/comments/(?P<id>\d+)", "issues/comments#delete-an-issue-comment")
def delete_issue_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    call.require("triage", unless_author=comment.author)
    call.state.delete_comment(comment)
    return Reply(204)


def _react(call: Call, issue_number: int, comment_id: int | None) -> Reply:
    content = call.body.get("content")
    if content not in REACTIONS:
        raise validation_failed({"value": content, "resource": "Reaction", "field": "content", "code": "invalid"})
    reaction, new = call.state.react(call.repo, issue_number, comment_id, content, call.user.login)
    return Reply(201 if new else 200, call.render.reaction(reaction))


def _reactions(call: Call, issue_number: int, comment_id: int | None) -> Reply:
    reactions = call.state.reactions_on(call.repo, issue_number, comment_id)
    content = call.query.get("content")
    return paginated(call, [call.render.reaction(r) for r in reactions if content in (None, r.content)])


@route("POST", REPO + r"/issues/comments/(?P<id>\d+)/reactions",
       "reactions/reactions#create-reaction-for-an-issue-comment")
def create_comment_reaction(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    return _react(call, comment.issue_number, comment.id)


@route("GET", REPO + r"/issues/comments/(?P<id>\d+)/reactions",
       "reactions/reactions#list-reactions-for-an-issue-comment")
def list_comment_reactions(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    return _reactions(call, comment.issue_number, comment.id)


@route("POST", REPO + r"/issues/(?P<number>\d+)/reactions", "reactions/reactions#create-reaction-for-an-issue")
def create_issue_reaction(call: Call) -> Reply:
    return _react(call, call.state.issue(call.repo, call.number()).number, None)


@route("GET", REPO + r"/issues/(?P<number>\d+)/reactions", "reactions/reactions#list-reactions-for-an-issue")
def list_issue_reactions(call: Call) -> Reply:
    return _reactions(call, call.state.issue(call.repo, call.number()).number, None)


def _pull_issue(call: Call) -> Issue:
    issue = call.state.issue(call.repo, call.number())
    if issue.pull is None:
        raise NotFound()
    return issue


@route("GET", REPO + "/pulls", "pulls/pulls#list-pull-requests")
def list_pulls(call: Call) -> Reply:
    repo, query = call.repo, call.query
    state = query.get("state", "open")
    # Like GitHub, a `head` filter without "owner:" is ignored.
    head_owner, _, head = query.get("head", "").rpartition(":")
    pulls = [issue for issue in repo.issues.values() if issue.pull
             and state in ("all", issue.state)
             and (not head_owner or (head_owner.lower() == repo.owner.lower() and issue.pull.head == head))
             and query.get("base") in (None, issue.pull.base)]
    key = "updated_at" if query.get("sort") == "updated" else "created_at"
    pulls.sort(key=lambda issue: (getattr(issue, key), issue.number),
               reverse=query.get("direction", "desc" if key == "created_at" else "asc") == "desc")
    return paginated(call, [call.render.pull(repo, issue, full=False) for issue in pulls])


@route("POST", REPO + "/pulls", "pulls/pulls#create-a-pull-request")
def create_pull(call: Call) -> Reply:
    repo = call.repo
    call.require("write")
    pull = _new_pull(call, repo)
    check_length(call.body.get("body"), "PullRequest", "body")
    issue = call.state.add_issue(repo, call.body["title"], call.body.get("body"), call.user.login, pull=pull)
    return created(call.render.pull(repo, issue, fresh=True))


def _new_pull(call: Call, repo: Repo) -> Pull:
    """The pull request the body asks for, refused the way GitHub refuses it."""
    head_owner, _, head = str(call.body.get("head") or "").rpartition(":")
    base, tips = str(call.body.get("base") or ""), gh_git.branch_tips(repo.path)
    errors = [{"resource": "PullRequest", "code": "missing_field", "field": "title"}] \
        if not call.body.get("title") else []
    if head not in tips or (head_owner and head_owner.lower() != repo.owner.lower()):
        errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if base not in tips:
        errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
    if errors:
        raise validation_failed(*errors)
    _refuse_duplicate(repo, head, base)
    if not gh_git.commits_between(repo.path, tips[base], tips[head]):
        raise validation_failed({"resource": "PullRequest", "code": "custom",
                                 "message": f"No commits between {base} and {head}"})
    return Pull(call.state.next_id("pull"), head, base, bool(call.body.get("draft")), tips[head], tips[base])


def _refuse_duplicate(repo: Repo, head: str, base: str, number: int | None = None) -> None:
    for issue in repo.issues.values():
        if issue.pull and issue.state == "open" and issue.number != number \
                and (issue.pull.head, issue.pull.base) == (head, base):
            raise validation_failed({"resource": "PullRequest", "code": "custom",
                                     "message": f"A pull request already exists for {repo.owner}:{head}."})


@route("GET", REPO + r"/pulls/(?P<number>\d+)", "pulls/pulls#get-a-pull-request")
def get_pull(call: Call) -> Reply:
    return Reply(200, call.render.pull(call.repo, _pull_issue(call)))


@route("PATCH", REPO + r"/pulls/(?P<number>\d+)", "pulls/pulls#update-a-pull-request")
def update_pull(call: Call) -> Reply:
    repo, issue, body = call.repo, _pull_issue(call), call.body
    call.require("write", unless_author=issue.author)
    if body.get("state") not in (None, "open", "closed"):
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "state"})
    if "base" in body and body["base"] not in gh_git.branch_tips(repo.path):
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "base"})
    check_length(body.get("body"), "PullRequest", "body")
    if body.get("state") == "open" and issue.state == "closed":
        _refuse_duplicate(repo, issue.pull.head, body.get("base", issue.pull.base), issue.number)
    issue.title, issue.body = body.get("title", issue.title), body.get("body", issue.body)
    issue.pull.base = body.get("base", issue.pull.base)
    issue.updated_at = now_iso()
    if body.get("state", issue.state) != issue.state:
        issue.state = body["state"]
        issue.closed_at = issue.updated_at if issue.state == "closed" else None
    return Reply(200, call.render.pull(repo, issue))


@route("GET", REPO + r"/pulls/(?P<number>\d+)/comments", "pulls/comments#list-review-comments-on-a-pull-request")
def list_review_comments(call: Call) -> Reply:
    _pull_issue(call)
    return paginated(call, [])


@route("GET", REPO + r"/pulls/(?P<number>\d+)/reviews", "pulls/reviews#list-reviews-for-a-pull-request")
def list_reviews(call: Call) -> Reply:
    _pull_issue(call)
    return paginated(call, [])


@route("GET", REPO + "/branches/(?P<branch>.+)", "branches/branches#get-a-branch")
def get_branch(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    sha = gh_git.branch_tips(repo.path).get(branch)
    if sha is None:
        raise NotFound("Branch not found")
    return Reply(200, call.render.branch(repo, branch, sha))


@route("GET", REPO + "/git/ref/heads/(?P<branch>.+)", "git/refs#get-a-reference")
def get_ref(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    sha = gh_git.branch_tips(repo.path).get(branch)
    if sha is None:
        raise NotFound()
    return Reply(200, call.render.ref(repo, branch, sha))


@route("DELETE", REPO + "/git/refs/heads/(?P<branch>.+)", "git/refs#delete-a-reference")
def delete_ref(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    call.require("write")
    if branch not in gh_git.branch_tips(repo.path):
        raise ApiError(422, "Reference does not exist")
    gh_git.delete_branch(repo.path, branch)
    return Reply(204)
