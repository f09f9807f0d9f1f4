"""REST endpoints of the GitHub emulator: pull request reviews, review comments and their replies."""

from __future__ import annotations

from typing import Any

from bench.github import gitrepo
from bench.github.api import REPO, Call, Reply, created, paginated
from bench.github.pulls import pull_issue
from bench.github.rest import react, reactions_of
from bench.github.state import ApiError, Issue, NotFound, Repo, ReviewComment, State, now_iso

COMMENT = REPO + r"/pulls/comments/(?P<id>\d+)"


def locate(state: State, repo: Repo, issue: Issue, path: str, line: int, side: str = "RIGHT",
           diff_hunk: str | None = None) -> dict[str, Any]:
    """Where a new review comment sits: path, line, side, diff hunk and position in the PR's diff.

    GitHub refuses a line outside the diff; a given ``diff_hunk`` (a seeded comment) is taken as it is.
    """
    pull = issue.pull
    head_repo = state.repo(pull.head_repo) if pull.head_repo else repo
    head = gitrepo.branch_tips(head_repo.path).get(pull.head, pull.head_sha)
    gitrepo.fetch_into(repo.path, head_repo.path, head, f"refs/pull/{issue.number}/head")
    found = gitrepo.diff_hunk(repo.path, pull.base_sha, head, path, line, side)
    if found is None and diff_hunk is None:
        raise ApiError(422, "Unprocessable Entity", [
            "Pull request review thread line must be part of the diff and Pull request review thread diff "
            "hunk can't be blank"])
    hunk, position = found or (diff_hunk, None)
    return {"path": path, "line": line, "side": side, "diff_hunk": diff_hunk or hunk, "position": position}


def _comment(call: Call) -> ReviewComment:
    return call.state.review_comment(call.repo, call.number("id"))


def _thread_start(call: Call, comment_id: int, number: int) -> ReviewComment:
    """The comment a reply goes under: it must be the first of its thread (GitHub: 404 otherwise)."""
    comment = call.state.review_comment(call.repo, comment_id)
    if comment.pull_number != number or comment.in_reply_to is not None:
        raise NotFound()
    return comment


def _reply(call: Call, thread: ReviewComment, body: str) -> Reply:
    """A reply is a one-comment review of its own, in the thread's place."""
    review = call.state.add_review(call.repo, thread.pull_number, call.user.login, "", "COMMENTED", thread.commit_id)
    comment = call.state.add_review_comment(review, body, thread=thread)
    return created(call.render.reviews.review_comment(call.repo, comment))


def list_review_comments(call: Call) -> Reply:
    pull_issue(call)
    comments = call.state.review_comments_on(call.repo, call.number())
    return paginated(call, [call.render.reviews.review_comment(call.repo, c) for c in comments])


def create_review_comment(call: Call) -> Reply:
    issue, body = pull_issue(call), call.text("body", "PullRequestReviewComment")
    if call.body.get("in_reply_to") is not None:
        return _reply(call, _thread_start(call, int(call.body["in_reply_to"]), issue.number), body)
    if not isinstance(call.body.get("commit_id"), str):
        raise ApiError(422, 'Invalid request.\n\n"commit_id" wasn\'t supplied.')
    if not call.body.get("path") or not isinstance(call.body.get("line"), int):
        raise ApiError(422, "Unprocessable Entity", ["Pull request review thread path is invalid and Pull "
                                                     "request review thread diff hunk can't be blank"])
    where = locate(call.state, call.repo, issue, call.body["path"], call.body["line"], call.body.get("side", "RIGHT"))
    review = call.state.add_review(call.repo, issue.number, call.user.login, "", "COMMENTED",
                                   call.body["commit_id"])
    return created(call.render.reviews.review_comment(call.repo, call.state.add_review_comment(review, body, **where)))


def create_reply(call: Call) -> Reply:
    issue, body = pull_issue(call), call.text("body", "PullRequestReviewComment")
    return _reply(call, _thread_start(call, call.number("id"), issue.number), body)


def get_review_comment(call: Call) -> Reply:
    return Reply(200, call.render.reviews.review_comment(call.repo, _comment(call)))


def update_review_comment(call: Call) -> Reply:
    comment = _comment(call)
    call.require("write", unless_author=comment.author)
    comment.body, comment.updated_at = call.text("body", "PullRequestReviewComment"), now_iso()
    return Reply(200, call.render.reviews.review_comment(call.repo, comment))


def delete_review_comment(call: Call) -> Reply:
    comment = _comment(call)
    call.require("write", unless_author=comment.author)
    call.state.delete_comment(comment)
    return Reply(204)


def create_review_comment_reaction(call: Call) -> Reply:
    comment = _comment(call)
    return react(call, comment.pull_number, comment.id, review_comment=True)


def list_review_comment_reactions(call: Call) -> Reply:
    comment = _comment(call)
    return reactions_of(call, comment.pull_number, comment.id, review_comment=True)


def list_reviews(call: Call) -> Reply:
    pull_issue(call)
    return paginated(call, [call.render.reviews.review(call.repo, r) for r in call.state.reviews_on(call.repo, call.number())])


def _review(call: Call):
    pull_issue(call)
    for review in call.state.reviews_on(call.repo, call.number()):
        if review.id == call.number("review"):
            return review
    raise NotFound()


def get_review(call: Call) -> Reply:
    return Reply(200, call.render.reviews.review(call.repo, _review(call)))


def list_review_comments_of_review(call: Call) -> Reply:
    review = _review(call)
    comments = [c for c in call.state.review_comments_on(call.repo, review.pull_number) if c.review_id == review.id]
    return paginated(call, [call.render.reviews.review_comment(call.repo, c) for c in comments])
