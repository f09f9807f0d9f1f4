"""Seeding and reading pull requests, forks, reviews and review comments: `GitHubEmulator.pulls`.

    github.prs.create_fork("octo-org/textstats", "forkful/textstats")
    github.prs.push_commit("forkful/textstats", "sentence-count", {"textstats/s.py": "..."}, "Add sentence_count")
    pull = github.prs.create_pull("octo-org/textstats", "Add sentence_count", "", "sentence-count", author="forkful",
                              head_repo="forkful/textstats")
    comment = github.prs.add_review_comment("octo-org/textstats", pull["number"], "octo-owner", "/code ...",
                                        path="textstats/s.py", line=2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.github import gitrepo, reviews
from bench.github.state import Pull, Repo, now_iso

REVIEW_STATES = {"commented": "COMMENTED", "approved": "APPROVED", "changes_requested": "CHANGES_REQUESTED"}
"""A submitted review's state, as an event payload writes it and as the REST API does."""


class PullSeeding:
    """Pull requests of an emulator: its ``state``, ``root`` and renderer, read through ``emulator``."""

    def __init__(self, emulator: Any) -> None:
        self._emulator = emulator

    @property
    def state(self) -> Any:
        return self._emulator.state

    @property
    def root(self) -> Path:
        return self._emulator.root

    @property
    def _render(self) -> Any:
        return self._emulator.renderer

    def create_fork(self, source: str, fork: str) -> None:
        """``fork`` (``owner/name``): a copy of ``source`` with its branches, owned by its owner."""
        owner, name = fork.split("/")
        with self.state.lock:
            parent = self.state.repo(source)
            if fork.lower() in self.state.repos:
                raise ValueError(f"{fork} exists already")
            path = self.root / owner / f"{name}.git"
            gitrepo.fork_bare(parent.path, path)
            self.state.repos[fork.lower()] = Repo(self.state.next_id("repo"), self.state.user(owner).login, name,
                                                  path, parent.default_branch, parent.private, now_iso(),
                                                  parent=parent.full_name)

    def push_commit(self, full_name: str, branch: str, files: dict[str, str | None], message: str,
                    author: str, start_from: str | None = None) -> str:
        """Commit ``files`` (None: delete) on ``branch`` as ``author``, as a push would; returns the sha.

        A missing branch starts at ``start_from`` (default: the default branch).
        """
        with self.state.lock:
            repo, user = self.state.repo(full_name), self.state.user(author)
            tips = gitrepo.branch_tips(repo.path)
            if branch not in tips:
                gitrepo.set_branch(repo.path, branch, tips[start_from or repo.default_branch])
            email = f"{user.id}+{user.login}@users.noreply.github.com"
            return gitrepo.commit_files(repo.path, branch, files, message, (user.login, email))

    def create_pull(self, full_name: str, title: str, body: str, head: str, base: str | None = None,
                    author: str = "github-actions[bot]", number: int | None = None, draft: bool = False,
                    head_repo: str | None = None) -> dict[str, Any]:
        """Open a pull request from ``head`` (in ``head_repo``, a fork, when given); returns its JSON."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            source = self.state.repo(head_repo) if head_repo else repo
            base = base or repo.default_branch
            pull = Pull(self.state.next_id("pull"), head, base, draft, gitrepo.branch_tips(source.path)[head],
                        gitrepo.branch_tips(repo.path)[base], head_repo=source.full_name if head_repo else None)
            issue = self.state.add_issue(repo, title, body, author, number, pull=pull)
            return self._render.pull(repo, issue)

    def close_pull(self, full_name: str, number: int, merged: bool = False) -> None:
        """Close the pull request; ``merged``: merge its head into the base branch first."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            issue = self.state.issue(repo, number)
            self._render.pull(repo, issue)  # the tips as they are now
            if merged:
                sha = gitrepo.merge_commit(repo.path, issue.pull.base_sha, issue.pull.head_sha,
                                          f"Merge pull request #{number} from {issue.pull.head}")
                if sha is None:
                    raise ValueError(f"{full_name}#{number} does not merge cleanly")
                gitrepo.set_branch(repo.path, issue.pull.base, sha)
                issue.pull.merged, issue.pull.merge_commit_sha = True, sha
            issue.state, issue.closed_at = "closed", now_iso()
            issue.pull.merged_at = issue.closed_at if merged else None

    def delete_branch(self, full_name: str, branch: str) -> None:
        with self.state.lock:
            gitrepo.delete_branch(self.state.repo(full_name).path, branch)

    def merge_ref(self, full_name: str, number: int) -> str | None:
        """Update ``refs/pull/N/merge`` (the head merged into the base, as GitHub keeps it); its sha,
        or None when the two conflict (GitHub then has no merge ref)."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            issue = self.state.issue(repo, number)
            self._render.pull(repo, issue)
            sha = gitrepo.merge_commit(repo.path, issue.pull.base_sha, issue.pull.head_sha,
                                      f"Merge {issue.pull.head_sha} into {issue.pull.base_sha}")
            if sha:
                gitrepo.git(repo.path, "update-ref", f"refs/pull/{number}/merge", sha)
            return sha

    def add_review(self, full_name: str, number: int, author: str, body: str, state: str = "commented",
                   comments: list[dict[str, Any]] = (), author_association: str | None = None) -> dict[str, Any]:
        """Submit a review (``state`` as an event writes it) with inline ``comments``
        (``{body, path, line, side?, diff_hunk?}``); returns the review as the event payload carries it."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            issue = self.state.issue(repo, number)
            self._render.pull(repo, issue)
            review = self.state.add_review(repo, number, author, body, REVIEW_STATES[state], issue.pull.head_sha,
                                           author_association)
            for comment in comments:
                where = reviews.locate(self.state, repo, issue, comment["path"], comment["line"],
                                          comment.get("side", "RIGHT"), comment.get("diff_hunk"))
                self.state.add_review_comment(review, comment["body"], **where)
            return self._render.reviews.review(repo, review, webhook=True)

    def add_review_comment(self, full_name: str, number: int, author: str, body: str, path: str = "",
                           line: int | None = None, side: str = "RIGHT", diff_hunk: str | None = None,
                           in_reply_to: int | None = None, author_association: str | None = None) -> dict[str, Any]:
        """A single comment on the diff (a review of its own, as GitHub makes it), or a reply in the
        thread of ``in_reply_to``; returns it as the event payload carries it."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            issue = self.state.issue(repo, number)
            self._render.pull(repo, issue)
            thread = self.state.review_comment(repo, in_reply_to) if in_reply_to else None
            review = self.state.add_review(repo, number, author, "", "COMMENTED",
                                           thread.commit_id if thread else issue.pull.head_sha, author_association)
            where = {} if thread else reviews.locate(self.state, repo, issue, path, line, side, diff_hunk)
            comment = self.state.add_review_comment(review, body, thread=thread, **where)
            return self._render.reviews.review_comment(repo, comment)

    def pull_json(self, full_name: str, number: int, full: bool = True) -> dict[str, Any]:
        """The pull request (``full``), else as the review events carry it."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return self._render.pull(repo, self.state.issue(repo, number), full=full)

    # -- reading: the outcome, for reports --

    def review_comments(self, full_name: str) -> list[dict[str, Any]]:
        """Every review comment in creation order, with its text after edits."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"id": c.id, "pull_number": c.pull_number, "author": c.author, "body": c.body, "path": c.path,
                     "line": c.line, "in_reply_to": c.in_reply_to, "review_id": c.review_id}
                    for c in self.state.review_comments if c.repo == repo.full_name]

    def reviews(self, full_name: str) -> list[dict[str, Any]]:
        """Every review, the one-comment reviews behind single comments and replies included."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"id": r.id, "pull_number": r.pull_number, "author": r.author, "body": r.body, "state": r.state}
                    for r in self.state.reviews if r.repo == repo.full_name]

    def repo_path(self, full_name: str) -> Path:
        with self.state.lock:
            return self.state.repo(full_name).path
