"""Text the action writes: commit messages, pull request bodies, comments, the step summary.

Pure functions from our own types to Markdown, so each is checked against a golden file.
Everything here that carries the agent's words is redacted on its way out (the GitHub
client and `Branches` apply `codeagent.redact`), and cut to fit what GitHub accepts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codeagent.changes import Change, FileChange
from codeagent.numbers import run_numbers
from codeagent.text import cut, cut_at_word, first_line, plural, printable, quote

if TYPE_CHECKING:
    from codeagent.agent.base import AgentRun
    from codeagent.event import Trigger
    from codeagent.gateway import Usage
    from codeagent.github_types import PullRequest
    from codeagent.sandbox.results import StepResult
    from codeagent.target import Target
    from codeagent.verify import Verification

SUBJECT_LIMIT = 72
"""Longest commit subject line."""
WIP_PREFIX = "[WIP] "
"""Title prefix of a pull request that cannot be a draft (private repository on a Free or Pro plan)."""
NO_DRAFTS = (f"GitHub allows no draft pull requests in this repository (a private repository of a GitHub Free or "
             f"Pro account), so the pull request is titled `{WIP_PREFIX.strip()} …` until the work is done.")
SECTION_START, SECTION_END = "<!-- codeagent:start -->", "<!-- codeagent:end -->"
"""The part of a pull request's body the action owns; what people write around it stays."""
MARKER = "<!-- codeagent: -->"
"""Every comment the action writes carries a hidden marker, so that none can trigger a run."""
MAX_SUMMARY = 20_000
"""The agent's summary is cut here: a pull request body holds at most 65,536 characters."""
MAX_FILES = 300


# -- commits --

def initial_commit_message(issue_number: int) -> str:
    """The empty first commit on the branch, pushed before the agent starts."""
    return f"codeagent: received #{issue_number}, preparing to implement"


def commit_message(target: Target, trigger: Trigger, summary: str, agent: str = "Claude Code", run_id: str = "") -> str:
    """"codeagent: <what was asked> (#N)", the agent's summary, trailers.

    Each run's commit says its own request: the issue's title on a new branch, then the text
    after `/code` (or "follow-up on <title>" and the workflow run when there is none).
    """
    if target.new_branch and not target.follow_up:
        asked, suffix = target.title, f" (#{target.number})"
    else:
        asked = first_line(trigger.instructions, 200)
        run = f", run {run_id}" if run_id and not asked else ""
        asked, suffix = asked or f"follow-up on {target.title}", f" (#{target.number}{run})"
    subject = cut_at_word(f"codeagent: {' '.join(asked.split())}", SUBJECT_LIMIT - len(suffix)) + suffix
    body = cut(summary.strip(), MAX_SUMMARY) or f"Implements #{target.number}."
    trailers = [f"Issue: #{target.number}", f"Requested-by: @{trigger.actor}"]
    if agent == "Claude Code":
        trailers.append("Co-authored-by: Claude <noreply@anthropic.com>")
    return f"{subject}\n\n{body}\n\n" + "\n".join(trailers) + "\n"


def save_message(target: Target, why: str) -> str:
    """The commit of what an agent wrote before it was stopped."""
    return f"codeagent: work in progress on #{target.number}\n\n{why}\n\nIssue: #{target.number}\n"


# -- the pull request --

def draft_pr_body(issue_number: int, run_url: str = "") -> str:
    """The pull request's body while the agent works."""
    follow = f" Follow along in [the workflow run]({run_url})." if run_url else ""
    return (f"Closes #{issue_number}\n\n{SECTION_START}\n🚧 **Work in progress**: codeagent is implementing this issue. "
            f"This part of the description is replaced with a summary when it is done.{follow}\n{SECTION_END}\n")


def with_section(body: str, section: str) -> str:
    """``body`` with the action's section replaced by ``section`` (appended when there is none)."""
    block = f"{SECTION_START}\n{section.strip()}\n{SECTION_END}"
    pattern = re.compile(re.escape(SECTION_START) + r".*?" + re.escape(SECTION_END), re.DOTALL)
    if pattern.search(body or ""):
        return pattern.sub(lambda _: block, body, count=1)
    return f"{(body or '').rstrip()}\n\n{block}\n".lstrip()


def pull_request_section(target: Target, run: AgentRun | None, usage: Usage, files: Sequence[FileChange],
                         change: Change | None, verification: Verification | None, trigger: Trigger) -> str:
    """The action's part of the body: summary, tests, the files of the whole pull request, what the run took."""
    parts = []
    if run is not None and run.limit:
        parts.append(f"> [!WARNING]\n> The agent stopped at the `{run.limit}` limit, so this work may be incomplete.")
    summary = cut(run.summary.strip(), MAX_SUMMARY) if run is not None else ""
    parts.append(f"## Summary\n\n{summary or '_The agent gave no summary._'}")
    if verification is not None and (verification.command or verification.why):
        parts.append(f"## Tests\n\n{verification.line()}" + _tests_tail(verification))
    parts.append("## Files changed\n\n" + (file_list(files) or "_None._"))
    parts += left_out_notes(change)
    if trigger.default_branch and target.pull.base != trigger.default_branch and not target.follow_up:
        parts.append(f"> [!NOTE]\n> This pull request targets `{target.pull.base}`, not the default branch, so "
                     f"merging it will not close #{target.number} by itself.")
    agent = run.agent if run is not None else "an agent"
    parts.append(f"---\n<sub>{run_numbers(usage)}</sub>\n\n<sub>🤖 Implemented by codeagent with {agent}.</sub>")
    return "\n\n".join(parts)


def file_list(files: Sequence[FileChange]) -> str:
    """One line per file, marked added, deleted or renamed; any name, backticks included, shown as code."""
    lines = [f"- {code(f.path)}{_mark(f)}" for f in files[:MAX_FILES]]
    if len(files) > MAX_FILES:
        lines.append(f"- … and {len(files) - MAX_FILES} more")
    return "\n".join(lines)


def _mark(file: FileChange) -> str:
    if file.status == "renamed":
        return f" (renamed from {code(file.previous)})" if file.previous else " (renamed)"
    return {"added": " (added)", "deleted": " (deleted)"}.get(file.status, "")


def left_out_notes(change: Change | None) -> list[str]:
    """What the agent changed that is not in the commit, and why (grouped by reason)."""
    if change is None:
        return []
    notes = []
    reasons: dict[str, list[str]] = {}
    for item in change.left_out:
        reasons.setdefault(item.reason, []).append(item.path)
    for reason, paths in reasons.items():
        shown = "\n".join(f"> - {code(path)}" for path in paths[:30])
        notes.append(f"> [!NOTE]\n> Left out of the commit, {reason}:\n{shown}")
    if change.ignored_changed:
        shown = "\n".join(f"> - {code(path)}" for path in change.ignored_changed[:30])
        notes.append(f"> [!NOTE]\n> The agent also changed files the repository's `.gitignore` covers; they stay "
                     f"uncommitted:\n{shown}")
    return notes


def left_out_lines(change: Change, ignored: bool = True) -> list[str]:
    """The same, one line each, for the progress comment (the ignored files only when ``ignored``)."""
    lines = [f"Left out: {code(item.path)}, {item.reason}." for item in change.left_out[:10]]
    if change.ignored_changed and ignored:
        shown = ", ".join(code(path) for path in change.ignored_changed[:5])
        lines.append(f"Changed but not committed (in `.gitignore`): {shown}"
                     + (f" and {len(change.ignored_changed) - 5} more." if len(change.ignored_changed) > 5 else "."))
    return lines


def code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds (or bytes it had)."""
    text = printable(text).replace("\r", "\\r").replace("\n", "\\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# -- comments --

def marked(body: str) -> str:
    """A comment with the action's hidden marker."""
    return f"{body.rstrip()}\n\n{MARKER}\n"


def refusal_comment(actor: str, trigger_phrase: str) -> str:
    """The reply to someone who may not use the trigger phrase."""
    return (f"Sorry @{actor}, only people with write access to this repository can use "
            f"`{trigger_phrase}`. A maintainer can comment `{trigger_phrase}` here to have this "
            "issue implemented.\n")


def fork_comment(head_repository: str | None) -> str:
    """The reply to `/code` on a pull request from a fork: the workflow token cannot push there."""
    where = f"`{head_repository}`" if head_repository else "a fork that no longer exists"
    return (f"This pull request's branch lives in {where}, and the workflow token can only push to "
            "this repository, so codeagent cannot work on it. (Running the fork's code with this "
            "repository's secrets would not be safe either.) A maintainer can push the branch here "
            "and comment `/code` on a pull request from it.\n")


def closed_pull_request_comment(merged: bool) -> str:
    """The reply to `/code` on a pull request that is no longer open."""
    state = "merged" if merged else "closed"
    return (f"This pull request is {state}, so codeagent does not work on it any more. Comment `/code` on "
            "the issue to start a new pull request" + ("" if merged else ", or reopen this one first") + ".\n")


def default_branch_head_comment(head: str) -> str:
    """The reply to `/code` on a pull request whose head is the default branch."""
    return (f"This pull request's branch is `{head}`, the repository's default branch: codeagent's commit "
            "would land there directly, so it does not work on it. Comment `/code` on a pull request "
            "from a branch of its own.\n")


def follow_up_reply(summary: str, files: Sequence[FileChange]) -> str:
    """The reply in a review thread once the requested change is pushed."""
    changed = f"\n\nFiles changed:\n{file_list(files)}" if files else ""
    said = quote(cut(summary, MAX_SUMMARY)) if summary.strip() else ""
    return marked(f"Done, pushed to this pull request.\n\n{said}{changed}")


def failure_comment(error_title: str, message: str, run_url: str) -> str:
    """The comment when the run failed before its progress comment: what went wrong, what to do, the log."""
    log = f"\n\nDetails are in [the workflow run's log]({run_url})." if run_url else ""
    return marked(f"❌ **codeagent: {error_title}**\n\n{message.strip()}{log}")


def work_kept(change: Change | None, pull: PullRequest) -> str:
    if change is None or change.commit is None:
        return "The agent changed no files before it stopped."
    kind = "draft pull request" if pull.draft else "pull request"
    return f"What it wrote ({plural(len(change.commit.files), 'file')}) is pushed to the {kind} {pull.html_url}."


def setup_failed(result: StepResult, origin: str = "`setup`") -> str:
    """Why the agent was not started: the setup command, where it comes from, and the tail of its output."""
    return (f"The project's setup failed ({step_status(result)}): {code(first_line(result.command, 200))}, from "
            f"{origin}. The agent was not started on a half-set-up checkout. Fix the command on the default branch "
            "(or in the workflow's `with:`), or set `setup-failure: continue` to start the agent anyway. Last lines "
            "of its output:\n\n" + _fenced(result.tail))


def step_status(result: StepResult) -> str:
    return "timed out" if result.timed_out else f"exit code {result.exit_code}"


def tests_failing(verification: Verification) -> str:
    return f"{verification.line()}{_tests_tail(verification)}"


def _tests_tail(verification: Verification) -> str:
    after = verification.after
    if after is None or after.ok:
        return ""
    return "\n\nLast lines of the test output:\n\n" + _fenced(after.tail[-15:])


def _fenced(lines: Sequence[str]) -> str:
    text = "\n".join(cut(line, 300) for line in lines)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


# -- prompts the workflow adds --

def simpler_prompt(prompt: str, problem: str) -> str:
    """The retry's prompt: what went wrong first, and the most direct way through."""
    return ("A first attempt at the task below stopped with an error before changing anything "
            f"({first_line(problem, 300)}). Try again, taking the most direct route: make the smallest change "
            "that does what is asked, check it, and end with a short summary.\n\n" + prompt)


def repair_prompt(verification: Verification, task: str = "") -> str:
    """Another round: the tests fail after the change; the failure's tail, and the task again when the
    session could not be resumed."""
    after, before = verification.after, verification.before
    tail = "\n".join(after.tail[-40:]) if after is not None else ""
    again = f"\n\nThe task, again:\n\n{task}" if task else ""
    was = "they passed" if before is not None and before.ok else "fewer of them failed"
    return (f"The project's tests fail after your change (`{verification.command}`). Before your change {was}. "
            "Fix the code (or the tests, if your change made them outdated) so that they pass, then end "
            f"with a short summary of the whole change.\n\nThe end of the test output:\n\n```text\n{tail}\n```{again}")
