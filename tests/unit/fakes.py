"""Small hand-written fakes of the run's ports (`codeagent.ports`): GitHub, git and the sandbox.

Each records what a user would later see (comments, reactions, pull requests, what was pushed)
and, in one shared ``journal``, the order things happened in. The type checker run by
scripts/test holds them to the Protocols: a fake that drifts fails the suite.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from codeagent.agent.base import AgentRun, CliResult
from codeagent.branch_lock import HeldLock, LockHolder
from codeagent.changes import Caps, Change, Commit, FileChange, LeftOut
from codeagent.errors import GitHubError
from codeagent.gateway import Usage
from codeagent.github_types import Comment, Issue, PullRequest
from codeagent.ports import Branches, GitHub, Sandbox
from codeagent.sandbox.engine import SandboxExit
from codeagent.sandbox.results import StepResult
from codeagent.sandbox.workbench import SandboxImage

REPOSITORY = "octo-org/textstats"
SERVER = "https://github.com"
WRITE = {"admin", "write"}


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
    """One repository: issues and their threads, permissions per login, the pull requests."""

    def __init__(self, issues: list[Issue], threads: dict[int, list[Comment]] | None = None,
                 permissions: dict[str, str] | None = None, journal: list[str] | None = None,
                 drafts_allowed: bool = True) -> None:
        self.issues = {issue.number: issue for issue in issues}
        self.threads = {number: list(comments) for number, comments in (threads or {}).items()}
        self.permissions = dict(permissions or {})
        self.journal = journal if journal is not None else []
        self.drafts_allowed = drafts_allowed
        self.posted: list[list] = []
        """[issue number, body] of each comment the action posted; edits change the body."""
        self.reactions: list[tuple[int, int, str, bool]] = []
        """(issue number, comment id, content, on a review comment) of each reaction."""
        self.pulls: dict[int, FakePull] = {}
        self.review_thread: list[Comment] = []
        self.replies: list[tuple[int, int, str]] = []
        self.dispatched: list[tuple[str, str]] = []
        self.files: dict[int, list[FileChange]] = {}
        self._next_number = 100

    def add_pull(self, head: str, base: str = "main", state: str = "open", draft: bool = False,
                 body: str = "Closes #7", title: str = "earlier work", **changes) -> FakePull:
        """A pull request that exists before the run."""
        pull = FakePull(self._take_number(), title, body, head, base, draft, state, **changes)
        self.pulls[pull.number] = pull
        self.issues[pull.number] = Issue(pull.number, title, body, "github-actions[bot]", is_pull_request=True)
        return pull

    def can_write(self, login: str) -> bool:
        return self.permissions.get(login, "none") in WRITE

    def issue(self, number: int) -> Issue:
        if number not in self.issues:
            raise GitHubError(f"reading the issue: 404 Not Found (#{number})")
        return self.issues[number]

    def comments(self, number: int) -> list[Comment]:
        return list(self.threads.get(number, []))

    def review_comments(self, number: int) -> list[Comment]:
        return list(self.review_thread)

    def react(self, number: int, comment_id: int, content: str = "eyes", *, review_comment: bool = False) -> None:
        self.reactions.append((number, comment_id, content, review_comment))
        self.journal.append(f"react {content}")

    def comment(self, number: int, body: str) -> Comment:
        self.posted.append([number, body])
        self.journal.append(f"comment on #{number}")
        comment_id = 9000 + len(self.posted)
        return Comment(comment_id, "github-actions[bot]", True, body, f"{SERVER}/{REPOSITORY}/issues/{number}")

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.posted[comment_id - 9001][1] = body
        self.journal.append(f"edit comment {comment_id}")

    def find_pull_request(self, branch: str) -> PullRequest | None:
        mine = [pull for pull in self.pulls.values() if pull.head == branch]
        return max(mine, key=lambda pull: pull.number).view() if mine else None

    def create_pull_request(self, title: str, body: str, head: str, base: str, draft: bool) -> PullRequest:
        if draft and not self.drafts_allowed:
            raise GitHubError("opening the pull request: GitHub answered 422: Draft pull requests are not "
                              "supported in this repository.")
        pull = FakePull(self._take_number(), title, body, head, base, draft)
        self.pulls[pull.number] = pull
        self.journal.append(f"open {'draft ' if draft else ''}pull request #{pull.number}")
        return pull.view()

    def update_pull_request(self, number: int, *, title: str | None = None, body: str | None = None,
                            state: str | None = None) -> None:
        pull = self.pulls[number]
        pull.title = title if title is not None else pull.title
        pull.body = body if body is not None else pull.body
        pull.state = state if state is not None else pull.state
        self.journal.append(f"update pull request #{number}")

    def pull_request(self, number: int) -> PullRequest:
        self.journal.append(f"read pull request #{number}")
        return self.pulls[number].view()

    def pull_request_files(self, number: int) -> list[FileChange]:
        return list(self.files.get(number, []))

    def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> Comment:
        self.replies.append((number, comment_id, body))
        self.journal.append(f"reply to review comment {comment_id}")
        return Comment(8000 + len(self.replies), "github-actions[bot]", True, body, "https://x/reply")

    def mark_ready_for_review(self, number: int) -> None:
        self.pulls[number].draft = False
        self.journal.append(f"ready pull request #{number}")

    def dispatch_workflow(self, workflow: str, ref: str) -> str:
        self.dispatched.append((workflow, ref))
        return f"{SERVER}/{REPOSITORY}/actions/workflows/{workflow}"

    def _take_number(self) -> int:
        self._next_number += 1
        return self._next_number


class FakeBranches:
    """The server's branches (commit messages, oldest first), notes, and what the checkout was given."""

    def __init__(self, branches: dict[str, list[str]] | None = None, change: Change | None = None,
                 journal: list[str] | None = None, dirty: list[str] | None = None,
                 files: dict[str, str] | None = None) -> None:
        self.branches = {name: list(messages) for name, messages in (branches or {"main": ["Initial commit"]}).items()}
        self.change = change if change is not None else Change(None, ())
        """What the packer's data comes to when checked (None commit: nothing changed)."""
        self.journal = journal if journal is not None else []
        self.dirty = list(dirty or [])
        self.files = dict(files or {})
        self.notes: dict[str, str] = {}
        self.handed: list[tuple[str, str]] = []
        self.messages: list[str] = []
        """Messages of the commits made of the agent's work."""
        self.not_merged: set[str] = set()
        """Paths (the sandbox's definition) the branch the run works on has otherwise than the default branch."""
        self.locks: dict[str, HeldLock] = {}
        """Each branch's lock on the server; a test puts one here for a run that holds it."""
        self._lock_count = 0
        self._default_sha: str | None = None

    def check_clean(self) -> None:
        if self.dirty:
            from codeagent.errors import ConfigError
            raise ConfigError(f"the checkout has changes from an earlier step of the job ({self.dirty[0]})")

    def fetch(self, branch: str) -> str | None:
        if branch == "main":  # the default branch: fetched once a run, as `Branches` does
            if self._default_sha is None:
                self._default_sha = self._sha(branch) if branch in self.branches else ""
            return self._default_sha or None
        return self._sha(branch) if branch in self.branches else None

    def forget_default_branch(self) -> None:
        self._default_sha = None

    def start(self, branch: str, base: str, message: str) -> str:
        self.branches[branch] = [*self._messages_at(base), message]
        self.journal.append(f"push {branch}")
        return self._sha(branch)

    def hand_to_agent(self, branch: str, sha: str) -> None:
        self.handed.append((branch, sha))
        self.journal.append(f"checkout {branch}")

    def commit_change(self, out: Path, base: str, message: str, caps: Caps) -> Change:
        if self.change.commit is not None:
            self.messages.append(message)
        return self.change

    def push(self, branch: str, commit: str, expected: str | None, note: str | None) -> str:
        if commit != self._sha(branch):
            self.branches[branch].append(self.messages[-1])
        if note is not None:
            self.notes[branch] = note
        self.journal.append(f"push {branch}" + (" with a note" if note is not None else ""))
        return self._sha(branch)

    def delete_remote_branch(self, branch: str) -> None:
        del self.branches[branch]
        self.journal.append(f"delete branch {branch}")

    def read_note(self, branch: str) -> str | None:
        return self.notes.get(branch)

    def default_branch_file(self, path: str) -> str | None:
        return self.files.get(path)

    def differs_from_default(self, sha: str, paths: tuple[str, ...]) -> list[str]:
        return [path for path in paths if path in self.not_merged]

    def take_lock(self, branch: str, holder: LockHolder, replacing: str | None) -> str | None:
        held = self.locks.get(branch)
        if (held.sha if held else None) != replacing:
            return None
        self._lock_count += 1
        self.locks[branch] = HeldLock(f"{self._lock_count:040x}", holder)
        self.journal.append(f"lock {branch}")
        return self.locks[branch].sha

    def read_lock(self, branch: str) -> HeldLock | None:
        return self.locks.get(branch)

    def release_lock(self, branch: str, sha: str) -> bool:
        held = self.locks.get(branch)
        if held is None or held.sha != sha:
            return False
        del self.locks[branch]
        self.journal.append(f"unlock {branch}")
        return True

    def _sha(self, branch: str) -> str:
        return f"{abs(hash((branch, len(self.branches[branch])))) % 16**12:012x}".ljust(40, "0")

    def _messages_at(self, sha: str) -> list[str]:
        return next((list(messages) for name, messages in self.branches.items() if self._sha(name) == sha), [])


class FakeSandbox:
    """Answers each agent run and each command from prepared results; remembers prompts and sessions."""

    agent_title = "Claude Code"

    def __init__(self, runs: list[AgentRun], steps: dict[str, list[StepResult]] | None = None,
                 journal: list[str] | None = None, branches: FakeBranches | None = None,
                 changes_after: list[Change] | None = None) -> None:
        self.runs = deque(runs)
        self.steps = {command: deque(results) for command, results in (steps or {}).items()}
        self.journal = journal if journal is not None else []
        self._branches = branches
        self._changes_after = deque(changes_after or [])
        self.prompts: list[str] = []
        self.resumed: list[str | None] = []
        self.commands: list[str] = []
        self.restored: list[str | None] = []
        self.last: AgentRun | None = None
        self.fail_with: Exception | None = None
        self.entered = False
        self.image = SandboxImage("sandbox-image")
        """The image chosen for the run: its name, env, setup commands (a devcontainer's) and notes."""

    @property
    def usage(self) -> Usage:
        return self.last.usage if self.last else Usage()

    def preflight(self) -> None:
        self.journal.append("preflight")

    def __enter__(self) -> FakeSandbox:
        self.entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.entered = False

    def run_command(self, command: str, timeout_s: float, on_line: Callable[[str], None]) -> StepResult:
        self.commands.append(command)
        self.journal.append(f"run {command}")
        results = self.steps.get(command)
        return results.popleft() if results else StepResult(command, 0, False, ("ok",))

    def run_agent(self, prompt: str, resume: str | None, timeout_s: float,
                  on_line: Callable[[str], None]) -> AgentRun:
        self.prompts.append(prompt)
        self.resumed.append(resume)
        self.journal.append("agent runs")
        on_line("Edited textstats/__init__.py")
        if self.fail_with is not None:
            raise self.fail_with
        self.last = self.runs.popleft() if len(self.runs) > 1 else self.runs[0]
        if self._branches is not None and self._changes_after:
            self._branches.change = self._changes_after.popleft()
        return self.last

    def ready_packer(self, base: str, since: float, caps: Caps) -> None:
        self.journal.append("packer ready")

    def pack(self, base: str, since: float, caps: Caps) -> Path:
        self.journal.append("pack")
        return Path("/fake/pack")

    def remove_leftovers(self) -> None:
        self.journal.append("remove leftovers")

    def restore_session(self, note: str | None) -> str | None:
        self.restored.append(note)
        return "session-from-note" if note else None

    def session_note(self, run: AgentRun) -> str | None:
        return f"session {run.session_id}" if run.session_id else None


SUMMARY = "Added `word_count(text)` to `textstats/__init__.py` and a test."
SESSION = "8fead0b4-a1f2-4fdd-b120-48f51aab9808"
CLEAN_EXIT = SandboxExit(exit_code=0, timed_out=False, oom_killed=False, stderr_tail=())
USAGE = Usage(requests=6, turns=5, input_tokens=20, output_tokens=308, cache_write_tokens=22551,
              cache_read_tokens=89979, cost_usd=0.12, last_text=SUMMARY)


def agent_run(*, exit_code: int | None = 0, finished: bool = True, error: str = "", usage: Usage = USAGE,
              max_turns: int = 30, timed_out: bool = False, oom_killed: bool = False, session_id: str = SESSION,
              stderr: tuple[str, ...] = (), **usage_changes) -> AgentRun:
    """An agent run as the sandbox reports it; ``usage_changes`` go to the gateway's `Usage`."""
    return AgentRun("Claude Code", replace(usage, **usage_changes),
                    SandboxExit(exit_code, timed_out, oom_killed, stderr),
                    CliResult(session_id=session_id, finished=finished, error=error), max_turns)


def change(*paths: str, left_out: tuple[LeftOut, ...] = (), ignored: tuple[str, ...] = ()) -> Change:
    """The checked change of the agent's files (added ones, unless the path starts with ``-``)."""
    files = tuple(FileChange(path.lstrip("-"), "deleted" if path.startswith("-") else "added") for path in paths)
    commit = Commit("c" * 40, files, left_out) if files else None
    return Change(commit, left_out, ignored)


_PORTS: tuple[GitHub, Branches, Sandbox] = (FakeGitHub([]), FakeBranches(), FakeSandbox([agent_run()]))
"""The fakes as the ports the run takes: the type checker fails here when one drifts."""
