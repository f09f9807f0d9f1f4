"""The job summary (`GITHUB_STEP_SUMMARY`): a table of the run, the agent's summary, the files,
the phases' durations; pure, checked against golden files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from codeagent.gateway.ledger import API_TOOL
from codeagent.numbers import format_cost, format_tokens
from codeagent.report import MAX_SUMMARY, code, file_list, left_out_notes
from codeagent.text import cut, quote


class RunOutcome(Protocol):
    """What `step_summary` reads of a run's outcome (`outcome.Outcome`)."""

    @property
    def result(self) -> str: ...

    @property
    def trigger(self) -> Any: ...

    @property
    def message(self) -> str: ...

    @property
    def branch(self) -> str: ...

    @property
    def pull_request(self) -> Any: ...

    @property
    def agent(self) -> Any: ...

    @property
    def usage(self) -> Any: ...

    @property
    def change(self) -> Any: ...

    @property
    def verification(self) -> Any: ...


def error_summary(title: str, message: str) -> str:
    """The step summary of a run that failed before it had a trigger (bad input or event)."""
    return f"## ❌ codeagent: {title}\n\n{message.strip()}\n"


def step_summary(outcome: RunOutcome, phase_seconds: Mapping[str, float] | None = None) -> str:
    """The job summary: a table of the run, the agent's summary, the files, the phases' durations."""
    parts = [f"## codeagent: {outcome.result}", _markdown_table(_summary_rows(outcome))]
    if outcome.message:
        parts.append(quote(cut(outcome.message, 2000)))
    if outcome.agent is not None and outcome.agent.summary.strip():
        parts.append("### Summary\n\n" + cut(outcome.agent.summary.strip(), MAX_SUMMARY))
    if outcome.verification is not None and outcome.verification.command:
        parts.append("### Tests\n\n" + outcome.verification.line())
    change = outcome.change
    if change is not None and change.commit is not None:
        parts.append("### Files changed\n\n" + (file_list(change.commit.files) or "_None._"))
    parts += left_out_notes(change)
    if outcome.usage is not None and outcome.usage.blocked:
        blocked = ", ".join(f"{code(cut(host, 100))} ×{count}" for host, count in outcome.usage.blocked[:20])
        tools = (" The model API's own tools (`... API tool`) need `network: open`."
                 if any(host.endswith(API_TOOL) for host, _ in outcome.usage.blocked) else "")
        parts.append(f"### Blocked hosts\n\n{blocked} — add a host to `allowed-domains` if the project needs "
                     f"it.{tools}")
    if phase_seconds:
        rows = [(phase, f"{seconds:.1f} s") for phase, seconds in phase_seconds.items()]
        parts.append("### Phases\n\n" + _markdown_table(rows, header=("Phase", "Duration")))
    return "\n\n".join(parts) + "\n"


def _summary_rows(outcome: RunOutcome) -> list[tuple[str, str]]:
    """The step summary table's rows; numbers only when the agent ran."""
    trigger, pull, usage = outcome.trigger, outcome.pull_request, outcome.usage
    rows = [
        ("Trigger", f"`{trigger.event_name}` on #{trigger.issue_number}"),
        ("Who", f"@{trigger.actor}"),
        ("Branch", f"`{outcome.branch}`" if outcome.branch else "—"),
        ("Pull request", f"[#{pull.number}]({pull.html_url})" if pull is not None else "—"),
        ("Result", outcome.result),
    ]
    if outcome.agent is not None and usage is not None:
        rows += [("Agent", outcome.agent.agent), ("Turns", str(usage.turns)), ("Tokens", format_tokens(usage)),
                 ("Cost", format_cost(usage.cost_usd))]
    if outcome.verification is not None:
        rows.append(("Tests", outcome.verification.result))
    return rows


def _markdown_table(rows: Sequence[tuple[str, str]], header: tuple[str, str] = ("", "")) -> str:
    lines = ["|" + "|".join(f" {title} " if title else " " for title in header) + "|", "| --- | --- |"]
    lines += [f"| {name} | {_escape_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def _escape_cell(text: str) -> str:
    """A table cell's text, its pipes escaped and on one line."""
    return " ".join(text.split()).replace("|", "\\|")
