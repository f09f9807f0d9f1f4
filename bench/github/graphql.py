"""The GraphQL API of the GitHub emulator: the draft mutations PyGithub sends.

``PullRequest.mark_ready_for_review()`` and ``convert_to_draft()`` post
``mutation Mutation($input: ...Input!) { name(input: $input) { <fields> } }``
(github/Requester.py ``graphql_named_mutation``). A request GitHub would not run (a document
that does not validate against GitHub's schema, variables that do not fit) gets GitHub's
answer: HTTP 200 with ``errors``. A valid one is recognised by its mutation's name, and the
answer holds the fields the query names.
"""

from __future__ import annotations

import re
from typing import Any

from bench.github.pulls import DRAFTS_REFUSED
from bench.github.shapes import Renderer
from bench.github.spec.conformance import graphql_schema
from bench.github.state import ROLES, State, User, node_id, now_iso

DRAFT_AFTER = {"markPullRequestReadyForReview": False, "convertPullRequestToDraft": True}
_MUTATION = re.compile(r"\b(" + "|".join(DRAFT_AFTER) + r")\s*\(")


def handle(state: State, render: Renderer, user: User, body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON answer (GraphQL errors included, always HTTP 200); None for an unknown operation."""
    query = str(body.get("query", ""))
    refused = graphql_schema().refusal(body)
    if refused:
        return {"errors": [{"message": error.message, "locations": [{"line": where.line, "column": where.column}
                                                                   for where in error.locations or []]}
                           for error in refused]}
    mutation = _MUTATION.search(query)
    if mutation is None:
        return None
    name, variables = mutation.group(1), body.get("variables") or {}
    arguments = variables.get("input") or {}
    found = state.pull_by_node_id(str(arguments.get("pullRequestId")))
    if found is None:
        return _error(name, "NOT_FOUND",
                      f"Could not resolve to a node with the global id of '{arguments.get('pullRequestId')}'")
    repo, issue = found
    if ROLES.index(state.role(repo, user)) < ROLES.index("write") and user.login != issue.author:
        return _error(name, "FORBIDDEN", "Resource not accessible by integration")
    if DRAFT_AFTER[name] and not repo.drafts_allowed:
        return _error(name, "UNPROCESSABLE", DRAFTS_REFUSED)
    issue.pull.draft, issue.updated_at = DRAFT_AFTER[name], now_iso()
    pull = {"id": node_id("PullRequest", issue.pull.id), "number": issue.number, "isDraft": issue.pull.draft,
            "state": issue.state.upper(), "title": issue.title, "url": render.issue_html(repo, issue)}
    selection = query[mutation.end():]
    payload = {"clientMutationId": arguments.get("clientMutationId"),
               "pullRequest": {key: value for key, value in pull.items() if re.search(rf"\b{key}\b", selection)}}
    return {"data": {name: {key: value for key, value in payload.items() if re.search(rf"\b{key}\b", selection)}}}


def _error(name: str, kind: str, message: str) -> dict[str, Any]:
    return {"data": {name: None},
            "errors": [{"type": kind, "path": [name], "locations": [{"line": 1, "column": 1}], "message": message}]}
