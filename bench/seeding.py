"""A scenario's world put into the GitHub emulator, and each run's event posted as GitHub would.

`seed` creates the repository, the people, the issue and the pull request the
scenario describes (a fork, its commits, its conversation and review threads);
`post_event` adds the comment or review that triggers a run and returns the event
payload, built from the emulator's own JSON so it matches what its API serves.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.github.emulator import GitHubEmulator
from bench.scenario import PULL_REQUEST_EVENTS, Scenario, ScenarioEvent, ScenarioPullEdit, ScenarioPullRequest

DISPATCH_WORKFLOW = ".github/workflows/codeagent.yml"


@dataclass
class World:
    """What seeding made: the numbers the events refer to, and the comments the bench wrote."""

    issue_number: int
    pull_number: int | None = None
    review_comment_ids: list[int] = field(default_factory=list)
    """``pull_request.review_comments`` in order, for ``in_reply_to``."""
    bench_comment_ids: list[int] = field(default_factory=list)
    """Every issue and review comment the bench posted (seeded threads and triggering comments)."""
    issue_comment_ids: list[int] = field(default_factory=list)
    """``issue.comments`` in order, for ``event.edit_after.comments``."""


@dataclass(frozen=True)
class PostedEvent:
    """A run's trigger: the payload, and the ref and sha the runner checks out for it."""

    payload: dict[str, Any]
    ref: str = "refs/heads/main"
    sha: str | None = None
    """The commit of ``ref`` when it is a pull request's ref (the runner fetches it by sha)."""


def seed(github: GitHubEmulator, scenario: Scenario, workflow_login: str) -> World:
    """Put the repository, people, issue, thread and pull request in the emulator."""
    repository = scenario.repository
    github.create_repo(repository, scenario.repo_dir, private=scenario.settings.private, plan=scenario.settings.plan,
                       gitlinks=scenario.gitlinks)
    for name, base in scenario.custom_roles.items():
        github.add_custom_role(repository.split("/")[0], name, base)
    for login, role in scenario.roles().items():
        if login != workflow_login:  # the workflow token shares its login with the bot's comments
            github.set_permission(repository, login, role)
    issue = github.create_issue(repository, scenario.issue_title, scenario.issue_body,
                                scenario.issue_author, number=scenario.issue_number, locked=scenario.issue_locked)
    world = World(issue["number"])
    for comment in scenario.issue_comments:
        world.bench_comment_ids.append(github.add_issue_comment(repository, world.issue_number, comment.author,
                                                                comment.body)["id"])
        world.issue_comment_ids.append(world.bench_comment_ids[-1])
    for branch, commits in scenario.branches.items():
        for commit in commits:
            github.prs.push_commit(repository, branch, commit.files, commit.message,
                                   commit.author or scenario.issue_author)
    if scenario.pull_request:
        _seed_pull_request(github, repository, scenario.pull_request, world)
    return world


def edit_pull_request(github: GitHubEmulator, repository: str, edit: ScenarioPullEdit) -> None:
    """A person edits a pull request's description through the REST API, as on github.com."""
    token = "ghp_" + secrets.token_hex(18)
    github.add_token(token, edit.author)
    number = edit.number if edit.number is not None else github.pulls(repository)[-1]["number"]
    http = requests.Session()
    http.headers.update({"Authorization": f"token {token}", "Accept": "application/vnd.github+json"})
    url = f"{github.api_url}/repos/{repository}/pulls/{number}"
    got = http.get(url, timeout=30)
    got.raise_for_status()
    body = got.json()["body"] or ""
    body = "\n\n".join(part for part in (edit.prepend.strip(), body.strip(), edit.append.strip()) if part) + "\n"
    http.patch(url, json={"body": body}, timeout=30).raise_for_status()


def _seed_pull_request(github: GitHubEmulator, repository: str, pull: ScenarioPullRequest, world: World) -> None:
    head_repo = pull.fork or repository
    if pull.fork:
        github.prs.create_fork(repository, pull.fork)
    for commit in pull.commits:
        github.prs.push_commit(head_repo, pull.head, commit.files, commit.message, commit.author or pull.author,
                           start_from=pull.base)
    number = github.prs.create_pull(repository, pull.title, pull.body, pull.head, pull.base, pull.author, pull.number,
                                pull.draft, head_repo=pull.fork)["number"]
    world.pull_number = number
    for comment in pull.comments:
        world.bench_comment_ids.append(github.add_issue_comment(repository, number, comment.author, comment.body)["id"])
    for review in pull.reviews:
        github.prs.add_review(repository, number, review.author, review.body, review.state)
    for comment in pull.review_comments:
        posted = github.prs.add_review_comment(
            repository, number, comment.author, comment.body, comment.path, comment.line, comment.side,
            comment.diff_hunk, _thread(world, comment.in_reply_to))
        world.review_comment_ids.append(posted["id"])
        world.bench_comment_ids.append(posted["id"])
    if pull.merged or pull.state == "closed":
        github.prs.close_pull(repository, number, merged=pull.merged)
    if pull.head_deleted:
        github.prs.delete_branch(head_repo, pull.head)


def _thread(world: World, index: int | None) -> int | None:
    if index is None:
        return None
    if not 0 <= index < len(world.review_comment_ids):
        raise ValueError(f"in_reply_to: {index} is not the index of an earlier pull_request.review_comments entry")
    return world.review_comment_ids[index]


def post_event(github: GitHubEmulator, scenario: Scenario, world: World, event: ScenarioEvent) -> PostedEvent:
    """Add what triggers the run (comment, review) to the emulator and return the event."""
    repository = scenario.repository
    common = {"repository": github.repo_json(repository), "sender": github.user_json(event.author)}
    number = _target(scenario, world, event)
    if event.name == "workflow_dispatch":
        inputs = {"issue-number": str(number), **event.inputs}
        return PostedEvent({"inputs": inputs, "ref": "refs/heads/main", **common, "workflow": DISPATCH_WORKFLOW})
    if event.name == "issue_comment":
        comment = github.add_issue_comment(repository, number, event.author, event.comment, event.author_association)
        world.bench_comment_ids.append(comment["id"])
        return PostedEvent({"action": "created", "issue": github.issue_json(repository, number), "comment": comment,
                            **common})
    if event.name == "pull_request_review_comment":
        comment = github.prs.add_review_comment(repository, number, event.author, event.comment, event.path, event.line,
                                            event.side, event.diff_hunk, _thread(world, event.in_reply_to),
                                            event.author_association)
        world.bench_comment_ids.append(comment["id"])
        return _on_pull_request(github, repository, number, {"action": "created", "comment": comment, **common})
    if event.name == "pull_request_review":
        comments = [{"body": c.body, "path": c.path, "line": c.line, "side": c.side, "diff_hunk": c.diff_hunk}
                    for c in event.review_comments]
        review = github.prs.add_review(repository, number, event.author, event.review_body, event.review_state,
                                   comments, event.author_association)
        return _on_pull_request(github, repository, number, {"action": "submitted", "review": review, **common})
    raise ValueError(f"the bench cannot send a `{event.name}` event")


EDIT_DELAY_S = 1.1
"""GitHub's timestamps have whole seconds: an edit "after" the event is at least a second later."""


def apply_edits(github: GitHubEmulator, scenario: Scenario, world: World, event: ScenarioEvent) -> None:
    """The edits ``event.edit_after`` asks for, made once its payload is written (its author changing the
    issue after the maintainer's request)."""
    edit = event.edit_after
    if edit is None:
        return
    time.sleep(EDIT_DELAY_S)
    github.edit_issue(scenario.repository, world.issue_number, title=edit.issue_title, body=edit.issue_body)
    for index, body in edit.comments.items():
        if not 0 <= index < len(world.issue_comment_ids):
            raise ValueError(f"edit_after.comments: {index} is not the index of an issue.comments entry")
        github.edit_issue_comment(scenario.repository, world.issue_comment_ids[index], body)


def _target(scenario: Scenario, world: World, event: ScenarioEvent) -> int:
    """The issue or pull request the event concerns."""
    if event.number is not None:
        return int(event.number)
    if world.pull_number is not None and (event.name in PULL_REQUEST_EVENTS or event.name == "issue_comment"):
        return world.pull_number
    if event.name in PULL_REQUEST_EVENTS:
        raise ValueError(f"{scenario.path}: a `{event.name}` event needs `pull_request` or `event.number`")
    return world.issue_number


def _on_pull_request(github: GitHubEmulator, repository: str, number: int, payload: dict) -> PostedEvent:
    """A review event: the pull request in the payload; the runner checks out its merge ref, as
    actions/checkout does for ``refs/pull/N/merge`` (the head when the two conflict)."""
    pull = github.prs.pull_json(repository, number, full=False)
    payload = {**payload, "pull_request": pull}
    merge = github.prs.merge_ref(repository, number)
    if merge is None:
        return PostedEvent(payload, f"refs/pull/{number}/head", pull["head"]["sha"])
    return PostedEvent(payload, f"refs/pull/{number}/merge", merge)
