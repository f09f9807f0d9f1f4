"""The JSON of pull request reviews and review comments, as the REST API and event payloads carry them.

`shapes.Renderer.reviews`: it uses the renderer's links, users and reaction rollups.
"""

from __future__ import annotations

from typing import Any

from bench.github.state import Repo, Review, ReviewComment, node_id


class ReviewShapes:
    """Reviews and review comments; callers hold ``state.lock``."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def review_comment(self, repo: Repo, comment: ReviewComment) -> dict[str, Any]:
        """A pull-request-review-comment (also the ``comment`` of a ``pull_request_review_comment`` event)."""
        pull_url = f"{self._renderer.repo_api(repo)}/pulls/{comment.pull_number}"
        url = f"{self._renderer.repo_api(repo)}/pulls/comments/{comment.id}"
        html = f"{self._renderer.links.web}/{repo.full_name}/pull/{comment.pull_number}#discussion_r{comment.id}"
        reactions = self._renderer.state.reactions_on(repo, comment.pull_number, comment.id, review_comment=True)
        data = {
            "url": url, "pull_request_review_id": comment.review_id, "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id), "diff_hunk": comment.diff_hunk,
            "path": comment.path, "position": comment.position, "original_position": comment.position,
            "commit_id": comment.commit_id, "original_commit_id": comment.commit_id,
            "user": self._renderer.login(comment.author), "body": comment.body,
            "created_at": comment.created_at, "updated_at": comment.updated_at, "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self._renderer.state.association(repo, comment.author, comment.association),
            "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull_url}},
            "reactions": self._renderer.reaction_rollup(url, reactions),
            "start_line": None, "original_start_line": None, "start_side": None,
            "line": comment.line, "original_line": comment.line, "side": comment.side,
            "subject_type": "line" if comment.line else "file",
        }
        if comment.in_reply_to is not None:
            data["in_reply_to_id"] = comment.in_reply_to
        return data

    def review(self, repo: Repo, review: Review, webhook: bool = False) -> dict[str, Any]:
        """A pull-request-review; ``webhook``: as the ``review`` of a ``pull_request_review`` event
        (state in lower case there, upper case in the REST API)."""
        pull_url = f"{self._renderer.repo_api(repo)}/pulls/{review.pull_number}"
        html = f"{self._renderer.links.web}/{repo.full_name}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id), "user": self._renderer.login(review.author),
            "body": review.body or (None if webhook else ""), "commit_id": review.commit_id,
            "submitted_at": review.submitted_at, "state": review.state.lower() if webhook else review.state,
            "html_url": html, "pull_request_url": pull_url,
            "author_association": self._renderer.state.association(repo, review.author, review.association),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        }
