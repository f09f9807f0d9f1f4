"""Text the action writes: commit messages, PR bodies, issue comments, the step summary.

Pure functions from our own types to Markdown, so each is checked against a golden file.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from codeagent.agent.claude import AgentResult

SUBJECT_LIMIT = 72
"""Longest commit subject line."""

SIGNATURE = "<sub>🤖 Implemented by codeagent with Claude Code.</sub>"


class RunOutcome(Protocol):
    """What `step_summary` reads of a run's outcome (`workflow.Outcome`)."""

    result: str
    trigger: Any
    message: str
    branch: str
    pull_request: Any
    agent: Any
    commit: Any


def initial_commit_message(issue_number: int) -> str:
    """The empty first commit on the branch, pushed before the agent starts."""
    return f"codeagent: received #{issue_number}, preparing to implement"


def commit_message(issue_number: int, title: str, summary: str) -> str:
    """The implementation commit: "codeagent: <title> (#N)", the agent's summary, trailers."""
    suffix = f" (#{issue_number})"
    subject = _cut(f"codeagent: {' '.join(title.split())}", SUBJECT_LIMIT - len(suffix)) + suffix
    body = summary.strip() or f"Implements #{issue_number}."
    return f"{subject}\n\n{body}\n\nIssue: #{issue_number}\nCo-authored-by: Claude <noreply@anthropic.com>\n"


def draft_pr_body(issue_number: int, run_url: str = "") -> str:
    """The draft PR's body while the agent works."""
    follow = f" Follow along in [the workflow run]({run_url})." if run_url else ""
    return (f"Closes #{issue_number}\n\n🚧 **Work in progress**: codeagent is implementing this issue with "
            f"Claude Code. This description is replaced with a summary when it is done.{follow}\n")


def final_pr_body(issue_number: int, result: AgentResult, files: Sequence[str], left_out: Sequence[str]) -> str:
    """The PR's body once the agent is done: summary, files changed, and what the run took."""
    parts = [f"Closes #{issue_number}"]
    if result.stopped_at_limit:
        parts.append(f"> [!WARNING]\n> The agent stopped at the `{result.limit}` limit, "
                     "so this work may be incomplete.")
    parts.append(f"## Summary\n\n{result.summary.strip() or '_The agent gave no summary._'}")
    parts.append("## Files changed\n\n" + (_bullets(files) or "_None._"))
    if left_out:
        parts.append(workflow_files_note(left_out))
    parts.append(f"---\n<sub>{run_numbers(result)}</sub>\n\n{SIGNATURE}")
    return "\n\n".join(parts) + "\n"


def workflow_files_note(left_out: Sequence[str]) -> str:
    """Why changed files under `.github/workflows/` are not on the branch."""
    return ("> [!NOTE]\n> The agent also changed these files, which are left out: the workflow token "
            "cannot push changes under `.github/workflows/`. Make these changes by hand if you want them.\n"
            + "\n".join(f"> - `{path}`" for path in left_out))


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


def follow_up_reply(summary: str, files: Sequence[str]) -> str:
    """The reply in a review thread once the requested change is pushed."""
    changed = f"\n\nFiles changed:\n{_bullets(files)}" if files else ""
    return f"Done, pushed to this pull request.\n\n{_quote(summary) if summary.strip() else ''}{changed}\n"


def failure_comment(error_title: str, message: str, run_url: str) -> str:
    """The comment when the run failed: what went wrong, what to do, and the log."""
    log = f"\n\nDetails are in [the workflow run's log]({run_url})." if run_url else ""
    return f"❌ **codeagent: {error_title}**\n\n{message.strip()}{log}\n"


def error_summary(title: str, message: str) -> str:
    """The step summary of a run that failed before it had a trigger (bad input or event)."""
    return f"## ❌ codeagent: {title}\n\n{message.strip()}\n"


def step_summary(outcome: RunOutcome, phase_seconds: Mapping[str, float] | None = None) -> str:
    """The job summary: a table of the run, the agent's summary, the files, the phases' durations."""
    agent = outcome.agent.result if outcome.agent is not None else None
    parts = [f"## codeagent: {outcome.result}", _markdown_table(_summary_rows(outcome, agent))]
    if outcome.message:
        parts.append(_quote(outcome.message))
    if agent is not None and agent.summary.strip():
        parts.append("### Summary\n\n" + agent.summary.strip())
    if outcome.commit is not None:
        parts.append("### Files changed\n\n" + (_bullets(outcome.commit.files) or "_None._"))
        if outcome.commit.left_out:
            parts.append(workflow_files_note(outcome.commit.left_out))
    if phase_seconds:
        rows = [(phase, f"{seconds:.1f} s") for phase, seconds in phase_seconds.items()]
        parts.append("### Phases\n\n" + _markdown_table(rows, header=("Phase", "Duration")))
    return "\n\n".join(parts) + "\n"


def _summary_rows(outcome: RunOutcome, agent: AgentResult | None) -> list[tuple[str, str]]:
    """The step summary table's rows; numbers only when the agent ran."""
    trigger, pull = outcome.trigger, outcome.pull_request
    rows = [
        ("Trigger", f"`{trigger.event_name}` on #{trigger.issue_number}"),
        ("Who", f"@{trigger.actor}"),
        ("Branch", f"`{outcome.branch}`" if outcome.branch else "—"),
        ("Pull request", f"[#{pull.number}]({pull.html_url})" if pull is not None else "—"),
        ("Result", outcome.result),
    ]
    if agent is not None:
        rows += [
            ("Turns", str(agent.num_turns)),
            ("Duration", format_duration(agent.duration_ms)),
            ("Tokens", format_tokens(agent)),
            ("Cost", format_cost(agent.cost_usd)),
        ]
    return rows


def run_numbers(result: AgentResult) -> str:
    """"5 turns · 42 s · 112,858 tokens · $0.12": what a run took, on one line."""
    turns = "1 turn" if result.num_turns == 1 else f"{result.num_turns} turns"
    duration, cost = format_duration(result.duration_ms), format_cost(result.cost_usd)
    return f"{turns} · {duration} · {total_tokens(result):,} tokens · {cost}"


def total_tokens(result: AgentResult) -> int:
    """All tokens the run used: input, output and cache."""
    return result.input_tokens + result.output_tokens + result.cache_creation_tokens + result.cache_read_tokens


def format_tokens(result: AgentResult) -> str:
    """Tokens by kind: "20 in · 308 out · 22,551 cache write · 89,979 cache read"."""
    return (f"{result.input_tokens:,} in · {result.output_tokens:,} out · "
            f"{result.cache_creation_tokens:,} cache write · {result.cache_read_tokens:,} cache read")


def format_duration(milliseconds: int) -> str:
    """"0.6 s", "42 s", "3 min 5 s", "1 h 2 min"."""
    seconds = milliseconds / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes == 0:
        return f"{secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def format_cost(usd: float) -> str:
    """"$0.12"; costs under a cent keep their first digit ("$0.004")."""
    if 0 < usd < 0.01:
        return f"${usd:.1g}"
    return f"${usd:.2f}"


def _markdown_table(rows: Sequence[tuple[str, str]], header: tuple[str, str] = ("", "")) -> str:
    lines = ["|" + "|".join(f" {title} " if title else " " for title in header) + "|", "| --- | --- |"]
    lines += [f"| {name} | {_escape_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def _escape_cell(text: str) -> str:
    """A table cell's text, its pipes escaped and on one line."""
    return " ".join(text.split()).replace("|", "\\|")


def _bullets(paths: Sequence[str]) -> str:
    return "\n".join(f"- `{path}`" for path in paths)


def _quote(text: str) -> str:
    """`text` as a Markdown block quote."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip() + "…"
