"""Small hand-written fakes of the workflow's adapters: GitHub, the checkout, the agent.

Each records what a user would later see (comments, reactions, pull requests, what was
pushed) and, in one shared ``journal``, the order things happened in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from codeagent.agent.claude import AgentResult
from codeagent.agent.sandboxed import AgentRun
from codeagent.git import Commit
from codeagent.github_client import WRITE_ROLES, Comment, Issue, PullRequest
from codeagent.sandbox import SandboxExit

REPOSITORY = "octo-org/textstats"
SERVER = "https://github.com"


@dataclass
class FakePull:
    """A pull request as the fake holds it: everything a reviewer would see."""

    number: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    state: str = "open"
    merged: bool = False
    head_repository: str | None = REPOSITORY

    @property
    def html_url(self) -> str:
        return f"{SERVER}/{REPOSITORY}/pull/{self.number}"

    def view(self) -> PullRequest:
        return PullRequest(self.number, self.html_url, self.state, self.draft, self.merged, self.head, self.base,
                           self.title, self.body, self.head_repository)


class FakeGitHub:
    """One repository with one issue, its thread, roles per login and the pull requests."""

    def __init__(self, issue: Issue, thread: list[Comment] = (), roles: dict[str, str] | None = None,
                 default_branch: str = "main", journal: list[str] | None = None) -> None:
        self._issue = issue
        self.thread = list(thread)
        self.roles = dict(roles or {})
        self._default_branch = default_branch
        self.journal = journal if journal is not None else []
        self.posted: list[list] = []
        """[issue number, body] of each comment the action posted; edits change the body."""
        self.reactions: list[tuple[int, int, str]] = []
        """(issue number, comment id, content) of each reaction."""
        self.pulls: dict[int, FakePull] = {}
        self.pull_conversation: list[Comment] = []
        """Comments in the pull request's conversation."""
        self.review_thread: list[Comment] = []
        """Comments on the pull request's diff (``location`` set)."""
        self.replies: list[tuple[int, int, str]] = []
        """(pull request number, thread comment id, body) of each reply in a review thread."""
        self._next_number = 100

    def add_pull(self, head: str, base: str = "main", state: str = "open", draft: bool = False) -> FakePull:
        """A pull request that exists before the run."""
        pull = FakePull(self._take_number(), "earlier work", "Closes #7", head, base, draft, state)
        self.pulls[pull.number] = pull
        return pull

    def default_branch(self) -> str:
        return self._default_branch

    def role_of(self, login: str) -> str:
        return self.roles.get(login, "none")

    def can_write(self, login: str) -> bool:
        return self.role_of(login) in WRITE_ROLES

    def issue(self, number: int) -> Issue:
        assert number == self._issue.number, f"asked for #{number}"
        return self._issue

    def comments(self, number: int) -> list[Comment]:
        if number in self.pulls:
            return list(self.pull_conversation)
        assert number == self._issue.number, f"asked for the comments of #{number}"
        return list(self.thread)

    def react(self, number: int, comment_id: int, content: str = "eyes", *, review_comment: bool = False) -> None:
        self.reactions.append((number, comment_id, content))
        self.journal.append(f"react {content}")

    def comment(self, number: int, body: str) -> Comment:
        self.posted.append([number, body])
        self.journal.append(f"comment on #{number}")
        return Comment(9000 + len(self.posted), "github-actions[bot]", True, body,
                       f"{SERVER}/{REPOSITORY}/issues/{number}#issuecomment-{9000 + len(self.posted)}")

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.posted[comment_id - 9001][1] = body
        self.journal.append(f"edit comment {comment_id}")

    def pull_request(self, number: int) -> PullRequest:
        self.journal.append(f"read pull request #{number}")
        return self.pulls[number].view()

    def review_comments(self, number: int) -> list[Comment]:
        return list(self.review_thread)

    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> Comment:
        self.replies.append((number, comment_id, body))
        self.journal.append(f"reply to review comment {comment_id}")
        return Comment(8000 + len(self.replies), "github-actions[bot]", True, body, "https://x/reply")

    def find_pull_request(self, branch: str) -> PullRequest | None:
        mine = [pull for pull in self.pulls.values() if pull.head == branch]
        return max(mine, key=lambda pull: pull.number).view() if mine else None

    def create_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest:
        pull = FakePull(self._take_number(), title, body, head, base, draft)
        self.pulls[pull.number] = pull
        self.journal.append(f"open {'draft ' if draft else ''}pull request #{pull.number}")
        return pull.view()

    def update_pull_request(self, number: int, *, body: str | None = None, state: str | None = None) -> None:
        pull = self.pulls[number]
        if body is not None:
            pull.body = body
        if state is not None:
            pull.state = state
        self.journal.append(f"update pull request #{number}")

    def mark_ready_for_review(self, number: int) -> None:
        self.pulls[number].draft = False
        self.journal.append(f"ready pull request #{number}")

    def _take_number(self) -> int:
        self._next_number += 1
        return self._next_number


class FakeWorkspace:
    """The checkout: branches, commits (messages only) and what was pushed.

    ``credentials`` is ``persisted`` (actions/checkout's token in the config), ``ours``
    inside ``authenticated()`` and ``hidden`` inside ``without_credentials()``.
    """

    def __init__(self, current_branch: str | None = "main", remote_branches: set[str] = frozenset(),
                 changes: Commit | None = None, journal: list[str] | None = None) -> None:
        self._current_branch = current_branch
        self.remote_branches = set(remote_branches)
        self.changes = changes
        """What ``commit_all`` finds to commit (None: the agent changed nothing)."""
        self.journal = journal if journal is not None else []
        self.credentials = "persisted"
        self.started: list[tuple[str, str]] = []
        """(branch, base) of each ``start_branch``."""
        self.commits: list[str] = []
        """Messages of the commits made on the checked-out branch, oldest first."""
        self.pushed: dict[str, list[str]] = {}
        self.notes: dict[str, str] = {}
        self.dirty: list[str] = []
        """What the working tree has changed (an earlier step, or the agent until committed)."""
        """Notes ref -> the note on origin (the kept agent session)."""
        """Branch -> commit messages on origin (after our pushes)."""

    def current_branch(self) -> str | None:
        return self._current_branch

    @contextmanager
    def authenticated(self) -> Iterator[None]:
        before, self.credentials = self.credentials, "ours"
        try:
            yield
        finally:
            self.credentials = before

    @contextmanager
    def without_credentials(self) -> Iterator[None]:
        before, self.credentials = self.credentials, "hidden"
        try:
            yield
        finally:
            self.credentials = before

    def fetch_branch(self, name: str) -> bool:
        self._need_token("fetch")
        return name in self.remote_branches

    def start_branch(self, name: str, base: str) -> None:
        self.started.append((name, base))
        self._current_branch = name
        self.commits = list(self.pushed.get(name, [])) if base == f"origin/{name}" else []

    def commit_empty(self, message: str) -> str:
        self.commits.append(message)
        self.journal.append(f"commit {message.splitlines()[0]!r}")
        return f"{len(self.commits):040x}"

    def commit_all(self, message: str) -> Commit | None:
        if self.changes is None:
            return None
        self.dirty = []
        self.commits.append(message)
        self.journal.append(f"commit {message.splitlines()[0]!r}")
        return self.changes

    def dirty_paths(self) -> list[str]:
        return list(self.dirty)

    def delete_remote_branch(self, name: str) -> None:
        del self.pushed[name]
        self.journal.append(f"delete branch {name}")

    def read_note(self, ref: str) -> str | None:
        return self.notes.get(ref)

    def write_note(self, ref: str, text: str) -> None:
        self.notes[ref] = text
        self.journal.append(f"note {ref}")

    def push(self, branch: str) -> None:
        self._need_token("push")
        assert branch == self._current_branch, f"pushed {branch} while {self._current_branch} is checked out"
        self.pushed[branch] = list(self.commits)
        self.journal.append(f"push {branch}")

    def _need_token(self, what: str) -> None:
        assert self.credentials == "ours", f"{what} without authenticated(): credentials {self.credentials}"


class FakeAgent:
    """Returns a prepared ``AgentRun``; remembers the prompts and whether the token was hidden."""

    def __init__(self, outcome: AgentRun, workspace: FakeWorkspace, journal: list[str] | None = None) -> None:
        self.outcome = outcome
        self._workspace = workspace
        self.journal = journal if journal is not None else []
        self.prompts: list[str] = []
        self.restored: list[str | None] = []
        """The kept session notes handed to ``restore``."""
        self.resumed: list[str | None] = []
        """The session each run resumed (None: a fresh one)."""
        self.credentials_during_run: list[str] = []

    def preflight(self) -> None:
        self.journal.append("preflight")

    def restore(self, note: str | None) -> str | None:
        self.restored.append(note)
        return "session-from-note" if note else None

    def session_note(self, run: AgentRun) -> str | None:
        return f"session {run.result.session_id}"

    def run(self, prompt: str, progress=None, resume: str | None = None) -> AgentRun:
        self.resumed.append(resume)
        if self._workspace.changes is not None:
            self._workspace.dirty = list(self._workspace.changes.files)
        self.prompts.append(prompt)
        self.credentials_during_run.append(self._workspace.credentials)
        self.journal.append("agent runs")
        return self.outcome


SUCCESS = AgentResult(
    summary="Added `word_count(text)` to `textstats/__init__.py` and a test.",
    is_error=False, subtype="success", num_turns=5, duration_ms=42_000, cost_usd=0.12,
    input_tokens=20, output_tokens=308, cache_creation_tokens=22551, cache_read_tokens=89979,
    session_id="8fead0b4-a1f2-4fdd-b120-48f51aab9808",
)
CLEAN_EXIT = SandboxExit(exit_code=0, timed_out=False, stopped=False, oom_killed=False, stderr_tail=())


def agent_run(result: AgentResult = SUCCESS, exit: SandboxExit = CLEAN_EXIT, budget_reached: bool = False,
              **changes) -> AgentRun:
    """An ``AgentRun`` with ``changes`` applied to the result (``summary=...``, ``is_error=...``)."""
    return AgentRun(result=replace(result, **changes), exit=exit, budget_reached=budget_reached)

