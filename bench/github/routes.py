"""Every REST endpoint the emulator serves, in one table: method, path, handler, documentation.

Paths are regexes relative to the API root (``/api/v3`` on GitHub Enterprise Server), as GitHub
documents them; the first match serves the request. The documentation URL goes into GitHub-style errors.
"""

from __future__ import annotations

from bench.github import actions, pulls, rest, reviews
from bench.github.api import REPO, Route

ROUTES: tuple[Route, ...] = (
    Route.of("GET", "/user", rest.get_authenticated_user, "users/users#get-the-authenticated-user"),
    Route.of("GET", "/users/(?P<login>[^/]+)", rest.get_user, "users/users#get-a-user"),
    Route.of("GET", REPO, rest.get_repo, "repos/repos#get-a-repository"),
    Route.of("GET", REPO + "/collaborators/(?P<login>[^/]+)/permission", rest.get_collaborator_permission, "collaborators/collaborators#get-repository-permissions-for-a-user"),
    Route.of("GET", REPO + r"/issues/(?P<number>\d+)", rest.get_issue, "issues/issues#get-an-issue"),
    Route.of("GET", REPO + r"/issues/(?P<number>\d+)/comments", rest.list_issue_comments, "issues/comments#list-issue-comments"),
    Route.of("POST", REPO + r"/issues/(?P<number>\d+)/comments", rest.create_issue_comment, "issues/comments#create-an-issue-comment"),
    Route.of("GET", REPO + r"/issues/comments/(?P<id>\d+)", rest.get_issue_comment, "issues/comments#get-an-issue-comment"),
    Route.of("PATCH", REPO + r"/issues/comments/(?P<id>\d+)", rest.update_issue_comment, "issues/comments#update-an-issue-comment"),
    Route.of("DELETE", REPO + r"/issues/comments/(?P<id>\d+)", rest.delete_issue_comment, "issues/comments#delete-an-issue-comment"),
    Route.of("POST", REPO + r"/issues/comments/(?P<id>\d+)/reactions", rest.create_comment_reaction, "reactions/reactions#create-reaction-for-an-issue-comment"),
    Route.of("GET", REPO + r"/issues/comments/(?P<id>\d+)/reactions", rest.list_comment_reactions, "reactions/reactions#list-reactions-for-an-issue-comment"),
    Route.of("POST", REPO + r"/issues/(?P<number>\d+)/reactions", rest.create_issue_reaction, "reactions/reactions#create-reaction-for-an-issue"),
    Route.of("GET", REPO + r"/issues/(?P<number>\d+)/reactions", rest.list_issue_reactions, "reactions/reactions#list-reactions-for-an-issue"),
    Route.of("GET", REPO + "/pulls", pulls.list_pulls, "pulls/pulls#list-pull-requests"),
    Route.of("POST", REPO + "/pulls", pulls.create_pull, "pulls/pulls#create-a-pull-request"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)", pulls.get_pull, "pulls/pulls#get-a-pull-request"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)/files", pulls.list_pull_files, "pulls/pulls#list-pull-requests-files"),
    Route.of("PATCH", REPO + r"/pulls/(?P<number>\d+)", pulls.update_pull, "pulls/pulls#update-a-pull-request"),
    Route.of("GET", REPO + "/branches/(?P<branch>.+)", pulls.get_branch, "branches/branches#get-a-branch"),
    Route.of("GET", REPO + "/git/ref/heads/(?P<branch>.+)", pulls.get_ref, "git/refs#get-a-reference"),
    Route.of("DELETE", REPO + "/git/refs/heads/(?P<branch>.+)", pulls.delete_ref, "git/refs#delete-a-reference"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)/comments", reviews.list_review_comments, "pulls/comments#list-review-comments-on-a-pull-request"),
    Route.of("POST", REPO + r"/pulls/(?P<number>\d+)/comments", reviews.create_review_comment, "pulls/comments#create-a-review-comment-for-a-pull-request"),
    Route.of("POST", REPO + r"/pulls/(?P<number>\d+)/comments/(?P<id>\d+)/replies", reviews.create_reply, "pulls/comments#create-a-reply-for-a-review-comment"),
    Route.of("GET", reviews.COMMENT, reviews.get_review_comment, "pulls/comments#get-a-review-comment-for-a-pull-request"),
    Route.of("PATCH", reviews.COMMENT, reviews.update_review_comment, "pulls/comments#update-a-review-comment-for-a-pull-request"),
    Route.of("DELETE", reviews.COMMENT, reviews.delete_review_comment, "pulls/comments#delete-a-review-comment-for-a-pull-request"),
    Route.of("POST", reviews.COMMENT + "/reactions", reviews.create_review_comment_reaction, "reactions/reactions#create-reaction-for-a-pull-request-review-comment"),
    Route.of("GET", reviews.COMMENT + "/reactions", reviews.list_review_comment_reactions, "reactions/reactions#list-reactions-for-a-pull-request-review-comment"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)/reviews", reviews.list_reviews, "pulls/reviews#list-reviews-for-a-pull-request"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)/reviews/(?P<review>\d+)", reviews.get_review, "pulls/reviews#get-a-review-for-a-pull-request"),
    Route.of("GET", REPO + r"/pulls/(?P<number>\d+)/reviews/(?P<review>\d+)/comments", reviews.list_review_comments_of_review, "pulls/reviews#list-comments-for-a-pull-request-review"),
    Route.of("GET", REPO + "/actions/workflows", actions.list_workflows, "actions/workflows#list-repository-workflows"),
    Route.of("GET", REPO + "/actions/workflows/(?P<workflow_id>[^/]+)", actions.get_workflow, "actions/workflows#get-a-workflow"),
    Route.of("POST", REPO + "/actions/workflows/(?P<workflow_id>[^/]+)/dispatches", actions.create_dispatch, "actions/workflows#create-a-workflow-dispatch-event"),
)
