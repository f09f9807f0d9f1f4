"""The branch a run works on and the pull request it shows in: found, continued or created.

Two kinds of request: `/code` on an issue (the branch `codeagent/issue-N` and its pull
request, created or continued) and a follow-up on a pull request (its head branch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codeagent import report
from codeagent.errors import ConfigError, GitHubError
from codeagent.github_types import Issue, PullRequest
from codeagent.ports import Branches, GitHub

_CLOSES = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b", re.IGNORECASE)
DRAFT_REFUSED = "Draft pull requests are not supported"
"""GitHub's 422 for a draft on a private repository of a Free or Pro plan."""


@dataclass(frozen=True)
class Target:
    """The branch the work goes to and the pull request it shows in."""

    number: int
    """The issue (or, for a follow-up, the pull request) the work is for."""
    title: str
    branch: str
    tip: str
    """The branch's commit the agent starts from."""
    pull: PullRequest
    follow_up: bool
    """A request on an existing pull request, not on an issue."""
    new_pull: bool = False
    """The pull request was opened by this run (and may be closed again if nothing changes)."""
    new_branch: bool = False
    """The branch did not exist before this run: it holds only the first commit until the agent's."""
    existed_at: str | None = None
    """Where the branch was on the server before this run (None: it did not exist)."""
    wip_title: bool = False
    """No draft possible here: the pull request is marked "[WIP]" in its title instead."""


def for_issue(github: GitHub, branches: Branches, issue: Issue, branch: str, base: str, run_url: str) -> Target:
    """The issue's branch and pull request: continued when they exist, created otherwise.

    A closed, unmerged pull request is reopened; after a merge (or when the branch is gone)
    the work starts afresh from the base branch.
    """
    existing = github.find_pull_request(branch)
    tip = branches.fetch(branch)
    if tip and existing and existing.merged:  # merged (maybe squashed): the old branch is history
        branches.delete_remote_branch(branch)
        tip = None
    if tip and existing:
        if existing.state != "open":
            github.update_pull_request(existing.number, state="open")
        return Target(issue.number, issue.title, branch, tip, existing, follow_up=False, existed_at=tip,
                      wip_title=existing.title.startswith(report.WIP_PREFIX))
    existed_at = tip
    if tip is None:
        base_sha = branches.fetch(base)
        if base_sha is None:
            raise ConfigError(f"the base branch `{base}` does not exist on the server; fix the `base-branch` input "
                              "or create the branch")
        tip = branches.start(branch, base_sha, report.initial_commit_message(issue.number))
    try:
        pull, wip = open_pull_request(github, issue, branch, base, run_url)
    except GitHubError:
        if existed_at is None:  # do not leave a branch behind that holds only our first commit
            branches.delete_remote_branch(branch)
        raise
    return Target(issue.number, issue.title, branch, tip, pull, follow_up=False, new_pull=True,
                  new_branch=existed_at is None, existed_at=existed_at, wip_title=wip)


def open_pull_request(github: GitHub, issue: Issue, branch: str, base: str, run_url: str) -> tuple[PullRequest, bool]:
    """A draft pull request; where GitHub allows no drafts, a normal one titled "[WIP] …" (and True)."""
    body = report.draft_pr_body(issue.number, run_url)
    try:
        return github.create_pull_request(issue.title, body, branch, base, draft=True), False
    except GitHubError as error:
        if DRAFT_REFUSED not in str(error):
            raise
    return github.create_pull_request(report.WIP_PREFIX + issue.title, body, branch, base, draft=False), True


def for_pull_request(branches: Branches, pull: PullRequest) -> Target:
    """The pull request's head branch, as it stands on the server."""
    tip = branches.fetch(pull.head)
    if tip is None:
        raise GitHubError(f"the branch `{pull.head}` of pull request #{pull.number} is gone; restore it or open a new "
                          "pull request, then ask again")
    return Target(pull.number, pull.title, pull.head, tip, pull, follow_up=True, existed_at=tip,
                  wip_title=pull.title.startswith(report.WIP_PREFIX))


def refusal(pull: PullRequest, repository: str, default_branch: str) -> str:
    """Why a follow-up on ``pull`` cannot be done ("" when it can): a fork, a closed pull request,
    or a head that is the default branch (the agent's commit would land there directly)."""
    if (pull.head_repository or "").lower() != repository.lower():
        return report.fork_comment(pull.head_repository)
    if pull.state != "open":
        return report.closed_pull_request_comment(pull.merged)
    if pull.head == default_branch:
        return report.default_branch_head_comment(pull.head)
    return ""


def linked_issue_number(pull: PullRequest, branch_prefix: str) -> int | None:
    """The issue a pull request resolves: "Closes #N" in its body, or our branch name."""
    found = _CLOSES.search(pull.body or "")
    if found:
        return int(found[1])
    named = re.fullmatch(re.escape(branch_prefix) + r"issue-(\d+)", pull.head)
    return int(named[1]) if named else None
