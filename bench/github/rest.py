"""REST endpoints of the GitHub emulator: users, repositories, issues, comments, reactions."""

from __future__ import annotations

from bench.github.api import REPO, Call, Reply, created, paginated, validation_failed
from bench.github.state import REACTIONS, ApiError, NotFound, now_iso


def get_authenticated_user(call: Call) -> Reply:
    if call.user.type == "Bot":
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, call.render.user(call.user))


def get_user(call: Call) -> Reply:
    user = call.state.find_user(call.params["login"])
    if user is None:
        raise NotFound()
    return Reply(200, call.render.user(user))


def get_repo(call: Call) -> Reply:
    return Reply(200, call.render.repo(call.repo, viewer=call.user))


def get_collaborator_permission(call: Call) -> Reply:
    """Only for callers with push access: GitHub answers anyone else 403 (its description does not say so)."""
    try:
        call.require("write")
    except ApiError:
        raise ApiError(403, "Must have push access to view collaborator permission.") from None
    user = call.state.find_user(call.params["login"])
    if user is None:
        raise NotFound()
    return Reply(200, call.render.collaborator_permission(call.repo, user))


def get_issue(call: Call) -> Reply:
    return Reply(200, call.render.issue(call.repo, call.state.issue(call.repo, call.number())))


def list_issue_comments(call: Call) -> Reply:
    repo = call.repo
    call.state.issue(repo, call.number())
    return paginated(call, [call.render.comment(repo, c) for c in call.state.comments_on(repo, call.number())])


def create_issue_comment(call: Call) -> Reply:
    repo, body = call.repo, call.text("body", "IssueComment")
    if call.state.issue(repo, call.number()).locked:
        try:
            call.require("write")
        except ApiError:
            raise ApiError(403, "Unable to create comment because issue is locked.") from None
    comment = call.state.add_comment(repo, call.number(), call.user.login, body)
    return created(call.render.comment(repo, comment))


def get_issue_comment(call: Call) -> Reply:
    return Reply(200, call.render.comment(call.repo, call.state.comment(call.repo, call.number("id"))))


def update_issue_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    call.require("write", unless_author=comment.author)
    comment.body, comment.updated_at = call.text("body", "IssueComment"), now_iso()
    return Reply(200, call.render.comment(call.repo, comment))


def delete_issue_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    call.require("write", unless_author=comment.author)
    call.state.delete_comment(comment)
    return Reply(204)


def react(call: Call, issue_number: int, comment_id: int | None, review_comment: bool = False) -> Reply:
    """Add the body's reaction: 201, or 200 with the existing one when the caller reacted so already."""
    content = call.body.get("content")
    if content not in REACTIONS:
        raise validation_failed({"value": content, "resource": "Reaction", "field": "content", "code": "invalid"})
    reaction, new = call.state.react(call.repo, issue_number, comment_id, content, call.user.login, review_comment)
    return Reply(201 if new else 200, call.render.reaction(reaction))


def reactions_of(call: Call, issue_number: int, comment_id: int | None, review_comment: bool = False) -> Reply:
    """The reactions on an issue or a comment, filtered by ``content`` when the query asks."""
    reactions = call.state.reactions_on(call.repo, issue_number, comment_id, review_comment)
    content = call.query.get("content")
    return paginated(call, [call.render.reaction(r) for r in reactions if content in (None, r.content)])


def create_comment_reaction(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    return react(call, comment.issue_number, comment.id)


def list_comment_reactions(call: Call) -> Reply:
    comment = call.state.comment(call.repo, call.number("id"))
    return reactions_of(call, comment.issue_number, comment.id)


def create_issue_reaction(call: Call) -> Reply:
    return react(call, call.state.issue(call.repo, call.number()).number, None)


def list_issue_reactions(call: Call) -> Reply:
    return reactions_of(call, call.state.issue(call.repo, call.number()).number, None)
