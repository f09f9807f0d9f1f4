"""What a run works on: the branch, its pull request and the prompt.

Two kinds of request: `/code` on an issue (a branch `codeagent/issue-N` and its PR,
created or continued) and a follow-up on a pull request (its head branch, its
description, the issue it resolves and its conversation, a review's file and line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codeagent import report
from codeagent.event import Trigger
from codeagent.errors import GitHubError
from codeagent.github_client import Comment, GitHubClient, PullRequest
from codeagent.prompt import IssueThread, ThreadComment, build_prompt
from codeagent.prompt_followup import PullRequestThread, build_followup_prompt
from codeagent.settings import Settings

_CLOSES = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """The branch the work goes to and the pull request it shows in."""

    number: int
    """The issue (or, for a follow-up, the pull request) the commit message names."""
    title: str
    branch: str
    pull: PullRequest
    follow_up: bool
    """A request on an existing pull request, not on an issue."""
    new_pull: bool = False
    """The pull request was opened by this run (and may be closed again if nothing changes)."""
    new_branch: bool = False
    """The branch did not exist before this run: it holds only the first commit until the agent's."""


def prepare_issue(github: GitHubClient, workspace, settings: Settings, trigger: Trigger, run_url: str) -> Target:
    """The issue's branch and pull request: continued when they exist, created otherwise.

    A closed, unmerged pull request is reopened; after a merge (or when the branch is
    gone) the work starts afresh from the base branch.
    """
    issue = github.issue(trigger.issue_number)
    branch = f"{settings.branch_prefix}issue-{issue.number}"
    base = settings.base_branch or workspace.current_branch() or github.default_branch()
    existing = github.find_pull_request(branch)
    merged = bool(existing and existing.merged)
    existed = _check_out_issue_branch(workspace, branch, base, issue.number, fresh=merged)
    if existing and not merged and existed:
        if existing.state != "open":
            github.update_pull_request(existing.number, state="open")
        return Target(issue.number, issue.title, branch, existing, follow_up=False)
    body = report.draft_pr_body(issue.number, run_url)
    try:
        pull = github.create_pull_request(issue.title, body, branch, base, draft=True)
    except GitHubError:
        if not existed:  # do not leave a branch behind that holds only our first commit
            workspace.delete_remote_branch(branch)
        raise
    return Target(issue.number, issue.title, branch, pull, follow_up=False, new_pull=True, new_branch=not existed)


def _check_out_issue_branch(workspace, branch: str, base: str, issue_number: int, fresh: bool) -> bool:
    """Continue ``branch`` from origin when it exists (and not ``fresh``); else start it from
    ``base`` with a first commit. Returns whether the branch existed on origin."""
    with workspace.authenticated():
        existed = workspace.fetch_branch(branch)
        if existed and not fresh:
            workspace.start_branch(branch, f"origin/{branch}")
            return True
        if existed:  # its pull request was merged (maybe squashed): the old branch is history
            workspace.delete_remote_branch(branch)
        workspace.start_branch(branch, base)
        workspace.commit_empty(report.initial_commit_message(issue_number))
        workspace.push(branch)
    return existed


def prepare_follow_up(workspace, pull: PullRequest) -> Target:
    """The pull request's head branch, checked out as it stands on origin."""
    with workspace.authenticated():
        workspace.fetch_branch(pull.head)
        workspace.start_branch(pull.head, f"origin/{pull.head}")
    return Target(pull.number, pull.title, pull.head, pull, follow_up=True)


def issue_prompt(github: GitHubClient, trigger: Trigger, target: Target, settings: Settings) -> str:
    """The issue thread before the request, and on a re-run the pull request's conversation too."""
    issue = github.issue(target.number)
    comments = _before(github.comments(issue.number), trigger.comment_id)
    if not target.new_pull:
        comments += _as_thread(github.comments(target.pull.number))
    thread = IssueThread(issue.number, issue.title, issue.body, issue.author, tuple(comments))
    return build_prompt(thread, trigger.instructions, trigger.repository, target.branch, settings.prompt_template)


def follow_up_prompt(github: GitHubClient, trigger: Trigger, target: Target, settings: Settings) -> str:
    """The pull request, the issue it resolves, its conversation, and where a reviewer pointed."""
    pull = target.pull
    conversation = _before(github.comments(pull.number), trigger.comment_id)
    conversation += _as_thread(c for c in github.review_comments(pull.number) if c.id != trigger.comment_id)
    issue_number = linked_issue_number(pull, settings.branch_prefix)
    linked = None
    if issue_number is not None:
        issue = github.issue(issue_number)
        linked = IssueThread(issue.number, issue.title, issue.body, issue.author)
    thread = PullRequestThread(pull.number, pull.title, pull.body, pull.head, tuple(conversation), linked)
    return build_followup_prompt(thread, trigger.instructions, trigger.repository, trigger.review_context)


def linked_issue_number(pull: PullRequest, branch_prefix: str) -> int | None:
    """The issue a pull request resolves: "Closes #N" in its body, or our branch name."""
    found = _CLOSES.search(pull.body or "")
    if found:
        return int(found[1])
    named = re.fullmatch(re.escape(branch_prefix) + r"issue-(\d+)", pull.head)
    return int(named[1]) if named else None


def _before(comments: list[Comment], trigger_comment_id: int | None) -> list[ThreadComment]:
    """The comments before the trigger comment (the request itself is the instructions)."""
    earlier = []
    for comment in comments:
        if comment.id == trigger_comment_id:
            break
        earlier.append(_thread_comment(comment))
    return earlier


def _as_thread(comments) -> list[ThreadComment]:
    return [_thread_comment(comment) for comment in comments]


def _thread_comment(comment: Comment) -> ThreadComment:
    body = f"(on `{comment.location}`) {comment.body}" if comment.location else comment.body
    return ThreadComment(comment.author, body, is_bot=comment.author_is_bot)
