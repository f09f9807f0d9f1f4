"""REST endpoints of the GitHub emulator: pull requests, branches and git references."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import quote

from bench.github import gitrepo
from bench.github.api import REPO, Call, Reply, check_length, created, paginated, validation_failed
from bench.github.state import ApiError, Issue, NotFound, Pull, Repo, now_iso


FILE_STATUS = {"A": "added", "D": "removed", "M": "modified", "T": "changed", "R": "renamed", "C": "copied"}
"""A diff entry's ``status`` for git's letter."""
MAX_PULL_FILES = 3000
"""GitHub lists at most 3000 files of a pull request (REST "List pull requests files")."""
DRAFTS_REFUSED = "Draft pull requests are not supported in this repository."
"""GitHub's 422 for a draft in a private repository of a Free or Pro account (`Repo.drafts_allowed`)."""


def pull_issue(call: Call) -> Issue:
    """The pull request ``number`` of the path names (404 when it is an issue)."""
    issue = call.state.issue(call.repo, call.number())
    if issue.pull is None:
        raise NotFound()
    return issue


def list_pulls(call: Call) -> Reply:
    repo, query = call.repo, call.query
    state = query.get("state", "open")
    # Like GitHub, a `head` filter without "owner:" is ignored.
    head_owner, _, head = query.get("head", "").rpartition(":")
    pulls = [issue for issue in repo.issues.values() if issue.pull
             and state in ("all", issue.state)
             and (not head_owner or (head_owner.lower() == _head_owner(repo, issue).lower()
                                     and issue.pull.head == head))
             and query.get("base") in (None, issue.pull.base)]
    key = "updated_at" if query.get("sort") == "updated" else "created_at"
    pulls.sort(key=lambda issue: (getattr(issue, key), issue.number),
               reverse=query.get("direction", "desc" if key == "created_at" else "asc") == "desc")
    return paginated(call, [call.render.pull(repo, issue, full=False) for issue in pulls])


def _head_owner(repo: Repo, issue: Issue) -> str:
    return (issue.pull.head_repo or repo.full_name).split("/")[0]


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
    base, tips = str(call.body.get("base") or ""), gitrepo.branch_tips(repo.path)
    errors = [{"resource": "PullRequest", "code": "missing_field", "field": "title"}] \
        if not call.body.get("title") else []
    if head not in tips or (head_owner and head_owner.lower() != repo.owner.lower()):
        errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if base not in tips:
        errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
    if errors:
        raise validation_failed(*errors)
    _refuse_duplicate(repo, head, base)
    if not gitrepo.commits_between(repo.path, tips[base], tips[head]):
        raise validation_failed({"resource": "PullRequest", "code": "custom",
                                 "message": f"No commits between {base} and {head}"})
    if call.body.get("draft") and not repo.drafts_allowed:
        raise ApiError(422, DRAFTS_REFUSED)
    return Pull(call.state.next_id("pull"), head, base, bool(call.body.get("draft")), tips[head], tips[base])


def _refuse_duplicate(repo: Repo, head: str, base: str, number: int | None = None) -> None:
    for issue in repo.issues.values():
        if issue.pull and issue.state == "open" and issue.number != number \
                and (issue.pull.head, issue.pull.base) == (head, base):
            raise validation_failed({"resource": "PullRequest", "code": "custom",
                                     "message": f"A pull request already exists for {repo.owner}:{head}."})


def get_pull(call: Call) -> Reply:
    return Reply(200, call.render.pull(call.repo, pull_issue(call)))


def list_pull_files(call: Call) -> Reply:
    """The files a pull request changes, as its "Files changed" tab lists them (diff-entry objects): a
    renamed file with its ``previous_filename``, a removed one at the base's side, ``patch`` unless binary.
    At most 3000 files, as GitHub documents; each page's entries are made when that page is asked for."""
    repo, issue = call.repo, pull_issue(call)
    call.render.pull(repo, issue)  # brings head and base shas up to date
    pull = issue.pull
    merge_base = gitrepo.git(repo.path, "merge-base", pull.base_sha, pull.head_sha).strip()

    def entry_of(listed: gitrepo.FileDiff) -> dict:
        diff = gitrepo.with_patch(repo.path, pull.base_sha, pull.head_sha, listed)
        commit = merge_base if diff.status == "D" else pull.head_sha
        raw = f"{call.render.links.web}/{repo.full_name}/raw/{commit}/{quote(diff.path)}"
        entry = {"sha": diff.sha, "filename": diff.path,
                 "status": FILE_STATUS.get(diff.status, "modified"), "additions": diff.additions,
                 "deletions": diff.deletions, "changes": diff.additions + diff.deletions,
                 "blob_url": raw.replace("/raw/", "/blob/", 1), "raw_url": raw,
                 "contents_url": f"{call.render.repo_api(repo)}/contents/{quote(diff.path)}?ref={commit}"}
        if diff.patch is not None:
            entry["patch"] = diff.patch
        if diff.previous is not None:
            entry["previous_filename"] = diff.previous
        return entry

    return paginated(call, _listed_files(repo.path, pull.base_sha, pull.head_sha), entry_of)


@functools.lru_cache(maxsize=16)
def _listed_files(path: Path, base: str, head: str) -> list[gitrepo.FileDiff]:
    """The files a pull request lists, once per base and head (commits do not change; a client pages
    through them one request at a time)."""
    return gitrepo.diff_files(path, base, head)[:MAX_PULL_FILES]


def update_pull(call: Call) -> Reply:
    repo, issue, body = call.repo, pull_issue(call), call.body
    call.require("write", unless_author=issue.author)
    if body.get("state") not in (None, "open", "closed"):
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "state"})
    if "base" in body and body["base"] not in gitrepo.branch_tips(repo.path):
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "base"})
    check_length(body.get("body"), "PullRequest", "body")
    if body.get("state") == "open" and issue.state == "closed":
        _refuse_reopening(call, issue)
        _refuse_duplicate(repo, issue.pull.head, body.get("base", issue.pull.base), issue.number)
    issue.title, issue.body = body.get("title", issue.title), body.get("body", issue.body)
    issue.pull.base = body.get("base", issue.pull.base)
    issue.updated_at = now_iso()
    if body.get("state", issue.state) != issue.state:
        issue.state = body["state"]
        issue.closed_at = issue.updated_at if issue.state == "closed" else None
    return Reply(200, call.render.pull(repo, issue))


def _refuse_reopening(call: Call, issue: Issue) -> None:
    """GitHub reopens neither a merged pull request nor one whose head branch is gone."""
    head_repo = call.state.repo(issue.pull.head_repo) if issue.pull.head_repo else call.repo
    if issue.pull.merged:
        raise validation_failed({"resource": "PullRequest", "code": "custom", "field": "state",
                                 "message": "state cannot be changed. The pull request has been merged."})
    if issue.pull.head not in gitrepo.branch_tips(head_repo.path):
        raise validation_failed({"resource": "PullRequest", "code": "custom", "field": "state",
                                 "message": f"state cannot be changed. The {issue.pull.head} branch has been "
                                            "deleted."})


def get_branch(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    sha = gitrepo.branch_tips(repo.path).get(branch)
    if sha is None:
        raise NotFound("Branch not found")
    return Reply(200, call.render.branch(repo, branch, sha))


def get_ref(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    sha = gitrepo.branch_tips(repo.path).get(branch)
    if sha is None:
        raise NotFound()
    return Reply(200, call.render.ref(repo, branch, sha))


def delete_ref(call: Call) -> Reply:
    repo, branch = call.repo, call.params["branch"]
    call.require("write")
    if branch not in gitrepo.branch_tips(repo.path):
        raise ApiError(422, "Reference does not exist")
    gitrepo.delete_branch(repo.path, branch)
    return Reply(204)
