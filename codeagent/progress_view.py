"""What the progress comment says: `render_progress`, a pure function from a `ProgressState` to
Markdown, checked against golden files (`progress_comment.ProgressComment` sends it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from codeagent.gateway.ledger import API_TOOL
from codeagent.numbers import format_cost, format_duration
from codeagent.report import code
from codeagent.text import cut, quote

BRANCH_READY = "Branch and draft pull request ready"
AGENT_WORKING = "Agent working"
CHANGES_PUSHED = "Changes pushed"
PR_READY = "Pull request ready for review"
PHASES = (BRANCH_READY, AGENT_WORKING, CHANGES_PUSHED, PR_READY)
"""The checklist, in the order a run goes through it."""

ACTIVITY_LINES = 5
"""How many of the agent's latest activity lines the comment shows."""

RESULTS = ("success", "no-changes", "failure", "limit", "cancelled", "tests-failing")
"""How a run can end; the first three are `workflow.Outcome.result`'s words."""

MAX_BODY = 60_000
"""GitHub refuses comments over 65,536 characters; the agent's words are cut well before."""
MAX_REASON = 20_000

LIMITS = {"max-turns": "turn limit reached", "timeout-minutes": "time limit reached",
          "max-cost-usd": "budget reached"}
"""The inputs whose limit can stop the agent, and how the comment says so."""

MARKER = re.compile(r"<!-- codeagent:progress run=(\S*) -->")
"""The hidden marker that makes a progress comment recognisable, with its run id."""


class Status(Enum):
    """Where a phase of the checklist is."""

    PENDING = "⬜"
    IN_PROGRESS = "🔄"
    DONE = "✅"
    FAILED = "❌"


@dataclass(frozen=True)
class Ending:
    """How the run ended."""

    result: str
    """One of `RESULTS`."""
    reason: str = ""
    """Why it failed (shown for `failure`)."""
    limit: str = ""
    """The input whose limit stopped the agent (`max-turns`, `timeout-minutes`, `max-cost-usd`)."""
    ready: bool = False
    """For `no-changes`: the pull request is open and ready for review (a follow-up that changed nothing)."""
    ignored: tuple[str, ...] = ()
    """For `no-changes`: files the agent changed that the repository's .gitignore covers (never committed)."""


@dataclass(frozen=True)
class ProgressState:
    """Everything the progress comment shows."""

    run_id: str
    run_url: str
    """Link to the workflow run's log, `.../actions/runs/RUN_ID`."""
    phases: tuple[tuple[str, Status], ...] = tuple((name, Status.PENDING) for name in PHASES)
    activity: tuple[str, ...] = ()
    """The agent's latest activity lines, oldest first."""
    elapsed_s: float = 0.0
    turns: int = 0
    cost_usd: float = 0.0
    pull_request_url: str = ""
    notes: tuple[str, ...] = ()
    """Things the person who asked should know (left-out files, comments left out, started workflows)."""
    blocked: tuple[tuple[str, int], ...] = ()
    """Hosts the sandbox tried to reach and the gateway refused, with how often."""
    verification: str = ""
    """The verify gate's line: the test command, before → after."""
    ending: Ending | None = None
    """None while the run goes on."""


def render_progress(state: ProgressState) -> str:
    """The comment's Markdown: marker, headline, checklist, activity, numbers and links."""
    parts = [marker(state.run_id), _headline(state), _checklist(state.phases)]
    if state.verification:
        parts.append(f"**Tests:** {state.verification}")
    if state.blocked:
        parts.append(_blocked(state.blocked))
    if state.notes:
        parts.append("\n".join(f"- {note}" for note in state.notes[:20]))
    if state.activity and (state.ending is None or state.ending.result not in ("success", "no-changes")):
        parts.append(_activity(state.activity, finished=state.ending is not None))
    parts.append(_footer(state))
    body = "\n\n".join(parts) + "\n"
    return body if len(body) <= MAX_BODY else body[:MAX_BODY] + "\n\n…(cut: the comment was too long)\n"


def marker(run_id: str) -> str:
    """`<!-- codeagent:progress run=RUN_ID -->`."""
    return f"<!-- codeagent:progress run={run_id} -->"


def run_id_of(run_url: str) -> str:
    """The run id in `.../actions/runs/RUN_ID`; "" when the URL has none."""
    found = re.search(r"/actions/runs/([\w.-]+)", run_url)
    return found.group(1) if found else ""


def _headline(state: ProgressState) -> str:
    ending, where = state.ending, state.pull_request_url or "the branch"
    if ending is None:
        return "🤖 **codeagent is working on this.** This comment shows its progress."
    reason = cut(ending.reason.strip(), MAX_REASON)
    if ending.result == "success":
        said = f"\n\n{quote(reason)}" if reason else ""
        return f"✅ **Done.** The pull request is ready for review: {where}{said}"
    if ending.result == "no-changes":
        answer = f"\n\nThe agent's answer:\n\n{quote(reason)}" if reason else ""
        if ending.ignored:
            return f"➖ **No changes committed.** {_only_ignored(ending.ignored)}{answer}"
        return f"➖ **No changes.** The agent finished without changing any files.{answer}"
    if ending.result == "tests-failing":
        return (f"🧪 **The tests fail.** The agent's change is pushed to {where}, which stays a draft until they "
                f"pass.\n\n{quote(reason)}" if reason else f"🧪 **The tests fail.** {where} stays a draft.")
    if ending.result == "limit":
        why = LIMITS.get(ending.limit, "limit reached")
        kept = reason or f"What the agent wrote so far is pushed to {where} for you to review or continue."
        return f"⚠️ **Stopped at the `{ending.limit}` limit ({why}).** {kept}"
    if ending.result == "cancelled":
        return f"🛑 **Cancelled.** The run was cancelled; work already pushed stays on {where}."
    said = quote(reason) if reason else "> No reason was given."
    return f"❌ **The run failed.**\n\n{said}\n\nDetails are in [the workflow run's log]({state.run_url})."


def _only_ignored(paths: tuple[str, ...]) -> str:
    shown = ", ".join(code(path) for path in paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return (f"The agent changed only files the repository's `.gitignore` covers ({shown}); they were not "
            "committed and stay only in the runner's checkout.")


def _checklist(phases: tuple[tuple[str, Status], ...]) -> str:
    # Emoji, not task-list checkboxes: a click on a checkbox edits the comment and
    # would race with our own edits.
    return "\n".join(f"- {status.value} {name}" for name, status in phases)


def _activity(lines: tuple[str, ...], finished: bool) -> str:
    """The lines in a code block, so nothing the agent wrote is read as Markdown or HTML."""
    longest_run = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest_run + 1)
    title = "**Last activity**" if finished else "**Latest activity**"
    return f"{title}\n\n{fence}text\n" + "\n".join(lines) + f"\n{fence}"


def _footer(state: ProgressState) -> str:
    """Elapsed time, turns and cost, and the links, on one small line."""
    numbers = [f"⏱️ {format_duration(round(state.elapsed_s * 1000))}"]
    if state.turns or state.cost_usd:
        turns = "1 turn" if state.turns == 1 else f"{state.turns} turns"
        cost = format_cost(state.cost_usd) + (" so far" if state.ending is None else "")
        numbers += [turns, cost]
    links = [f"[pull request]({state.pull_request_url})"] if state.pull_request_url else []
    links.append(f"[workflow run log]({state.run_url})")
    return "<sub>" + " · ".join(numbers + links) + "</sub>"


def _blocked(hosts: tuple[tuple[str, int], ...]) -> str:
    shown = ", ".join(f"{code(cut(host, 100))} ×{count}" for host, count in hosts[:10])  # what the agent asked for
    more = f" and {len(hosts) - 10} more" if len(hosts) > 10 else ""
    tools = (" The model API's own tools (web search, fetch, MCP servers) reach the network from the vendor's "
             "side: only `network: open` allows them." if any(host.endswith(API_TOOL) for host, _ in hosts) else "")
    return (f"🚫 **Blocked:** {shown}{more}. The sandbox may reach only the hosts the `network` input allows; add "
            f"a host to `allowed-domains` if the project needs it.{tools}")
