"""How a run ended: what the outputs, the step summary and the exit code are made of."""

from __future__ import annotations

from dataclasses import dataclass

from codeagent.agent.base import AgentRun
from codeagent.changes import Change
from codeagent.event import Trigger
from codeagent.gateway import Usage
from codeagent.github_types import PullRequest
from codeagent.verify import Verification


@dataclass(frozen=True)
class Outcome:
    """How a run ended, for the outputs, the step summary and the exit code."""

    result: str
    """``success``, ``no-changes``, ``failure`` or ``skipped``."""
    trigger: Trigger
    message: str = ""
    title: str = ""
    """Heading of a failure (the error's title), for the annotation and the summary."""
    branch: str = ""
    pull_request: PullRequest | None = None
    agent: AgentRun | None = None
    usage: Usage | None = None
    """The gateway's account of the agent's model calls (tokens, turns, cost, blocked hosts)."""
    change: Change | None = None
    verification: Verification | None = None
