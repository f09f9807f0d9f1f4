"""The REST machinery of the GitHub emulator: routes, calls, replies, errors, pagination.

Each route has the path GitHub documents, relative to the API root (``/api/v3``
on GitHub Enterprise Server), and the documentation URL GitHub puts in its errors.
The endpoints themselves are in `rest` (repos, issues, comments, reactions), `pulls`
(pulls, branches, refs), `reviews` and `actions` (workflows); `routes` lists them all in one table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote, urlencode

from bench.github.shapes import Renderer
from bench.github.state import BODY_LIMIT, ROLES, SCOPE_LEVELS, ApiError, Repo, State, User

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
    token: str = ""

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

    def require_scope(self, name: str, level: str) -> None:
        """Refuse a token whose permissions are scoped (the workflow token) unless it has ``name: level``."""
        scope = self.state.scope(self.token, name)
        if scope is not None and SCOPE_LEVELS.index(scope) < SCOPE_LEVELS.index(level):
            raise ApiError(403, "Resource not accessible by integration")

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

    @classmethod
    def of(cls, method: str, pattern: str, handler: Callable[[Call], Reply], doc: str) -> Route:
        """A route for ``method`` on the path regex ``pattern``; ``doc`` is relative to GitHub's REST docs."""
        return cls(method, re.compile(f"^{pattern}$"), handler, f"{DOCS}/{doc}")


def handle(routes: tuple[Route, ...], state: State, render: Renderer, user: User, method: str, path: str,
           query: dict[str, str], body: dict[str, Any], token: str = "") -> Reply | None:
    """Answer a REST request with the first of ``routes`` that matches; None when none does."""
    for candidate in routes:
        match = candidate.pattern.match(path)
        if match and candidate.method == method:
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            try:
                return candidate.handler(Call(state, render, user, path, params, query, body, token))
            except ApiError as error:
                return Reply(error.status, error_body(error.status, error.message, candidate.doc, error.errors))
    return None


def paginated(call: Call, items: list[Any], render: Callable[[Any], Any] | None = None) -> Reply:
    """One page of ``items`` with GitHub's ``Link`` header (per_page 30 by default, 100 at most); ``render``
    turns each item of the page (only) into what is served."""
    per_page = max(1, min(int(call.query.get("per_page", 30)), 100))
    page, last = max(1, int(call.query.get("page", 1))), max(1, math.ceil(len(items) / per_page))
    base = call.render.links.api + call.path

    def link(number: int, rel: str) -> str:
        return f'<{base}?{urlencode({**call.query, "page": number})}>; rel="{rel}"'

    links = ([link(page + 1, "next"), link(last, "last")] if page < last else []) + \
        ([link(page - 1, "prev"), link(1, "first")] if page > 1 else [])
    served = items[(page - 1) * per_page:page * per_page]
    return Reply(200, [render(item) for item in served] if render else served,
                 {"Link": ", ".join(links)} if links else {})


def created(data: dict[str, Any]) -> Reply:
    return Reply(201, data, {"Location": data["url"]})
