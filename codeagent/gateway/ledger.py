"""The gateway's account of a run: tokens, turns, cost, the limits, and the hosts it refused.

It is the one authority for those numbers: the outputs, the progress comment and the job
summary read them here, never from what the agent prints. It is also where a model call is
admitted: each one reserves, before it goes, what it may cost and its share of the limits, so
calls in flight together cannot pass a limit that each of them alone would respect; a call alone
goes while the budget is not reached, and may pass it by what that one call costs.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from codeagent.gateway.vendors import Metered

CALLS_PER_TURN = 3
"""Model calls a run may make per turn of `max-turns`, its side calls (a title, a summary, a
compaction, a stream that broke off and is asked again) included; see `max_calls`.

Measured in the bench (44 scenario runs, tests/e2e): Claude Code 2.1.330 (its nonessential calls off),
Codex CLI 0.171.0 and Gemini CLI 0.61.0 make one model call per turn and none on the side, as they
start or after (many-turns-throttled: 13 turns, 13 calls); a stream that broke off mid-answer is
asked again (model-error-mid-stream: 3 turns, 4 calls). Calls the model API refused (a 529, a 429),
which the CLIs retry, are not counted. Three a turn leave room for compaction and Gemini CLI's loop
checks; with `max-turns: 3`, a hostile agent gets 9 calls in all (hostile-turns-bypass)."""
CALLS_BESIDE_TURNS = 0
"""Model calls a run may make besides those (none measured: see above)."""
BUDGET_REFUSAL = "codeagent: the budget (max-cost-usd) is reached; no further model calls are made in this run"
"""The message of the 400 a model call past the budget gets, in the vendor's error shape: every agent CLI
stops at once on a 400 (a 429 or a 5xx it would retry)."""
API_TOOL = " API tool)"
"""How a tool of the model API's own ends where it is listed with the blocked hosts: ``web_fetch_20250910
(anthropic API tool)``."""
TURNS_REFUSAL = "codeagent: the turn limit (max-turns) is reached; no further turns are taken in this run"
"""The same for a turn of the agent's loop past `max-turns`."""


def max_calls(max_turns: int) -> int:
    """The most model calls a run of ``max_turns`` may make: turns and side calls together.

    Agent CLIs make side calls (a title, a topic check, a summary) that offer no tools, so they are
    not turns, and a hostile agent can make any number of them itself; this bounds them all."""
    return CALLS_PER_TURN * max_turns + CALLS_BESIDE_TURNS


def calls_refusal(max_turns: int) -> str:
    """The same for any model call past the limit on all of them (turns and side calls together)."""
    return (f"codeagent: the limit on model calls ({max_calls(max_turns)} for max-turns {max_turns}, side calls "
            "included) is reached; no further model calls are made in this run")


@dataclass(frozen=True)
class Usage:
    """What the agent's model calls came to so far."""

    requests: int = 0
    """Model calls answered (side requests included)."""
    turns: int = 0
    """Turns of the agent's loop: model calls that offered the agent its tools."""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    last_text: str = ""
    """The model's text in the latest turn that had any: at the end of a run, its summary."""
    budget_reached: bool = False
    """A model call was refused because the cost had reached `max-cost-usd`."""
    calls_limit_reached: bool = False
    """A model call was refused because the run had made `max_calls` of them."""
    refused_paths: tuple[str, ...] = ()
    """API paths the gateway would not pass to the upstream (not model calls an agent needs)."""
    blocked: tuple[tuple[str, int], ...] = ()
    """Hosts the egress proxy refused, with how often, most often first."""
    upstream_errors: tuple[str, ...] = ()
    """Errors the model API answered with (the last few)."""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True)
class Reservation:
    """What model calls in flight hold against the limits until their answers are counted."""

    calls: int = 0
    turns: int = 0
    cost_usd: float = 0.0
    """What they may cost: their input, estimated from their size, and their output limit (`Vendor.worst_cost`)."""

    def __add__(self, other: Reservation) -> Reservation:
        return Reservation(self.calls + other.calls, self.turns + other.turns, self.cost_usd + other.cost_usd)

    def __sub__(self, other: Reservation) -> Reservation:
        calls = self.calls - other.calls
        return Reservation(calls, self.turns - other.turns, self.cost_usd - other.cost_usd if calls else 0.0)


class LimitReached(Exception):
    """A model call refused at a limit; its message, for the agent's CLI, says which."""


class Ledger:
    """Thread-safe: each request the gateway serves runs on a thread of its own."""

    def __init__(self, budget_usd: float | None = None, on_change: Callable[[Usage], None] | None = None,
                 max_turns: int | None = None) -> None:
        self._budget = budget_usd
        self._max_turns = max_turns
        self._max_calls = max_calls(max_turns) if max_turns is not None else None
        self._usage = Usage()
        self._calls = 0
        """Model calls the upstream answered (2xx): what counts against the limit on calls."""
        self._in_flight = Reservation()
        self._blocked: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._on_change = on_change or (lambda usage: None)

    def admit(self, turn: bool, cost_usd: float) -> Reservation:
        """Reserve a model call (a ``turn`` of the agent's loop or not) that may cost ``cost_usd`` (its input
        and its output limit), or raise `LimitReached`. The reservation is given back by `record` (which
        counts the real cost) or `release`.

        A call alone (none other in flight) goes while what was spent is under the budget, whatever it
        may cost: so an honest run, one call at a time, takes its turns until the budget is reached, and
        passes it by at most that one call. A call beside others goes only when what was spent, what the
        calls in flight may cost and what it may cost are within the budget: calls sent together cannot
        pass it. The turns and the calls, counted with those in flight, must be under their limits.
        Claude Code and Gemini CLI stop themselves at `max-turns`; Codex has no limit of its own; none
        bounds side calls."""
        with self._lock:
            refusal = self._refusal(turn, cost_usd)
            if not refusal:
                reservation = Reservation(1, 1 if turn else 0, cost_usd)
                self._in_flight += reservation
                return reservation
        if refusal == BUDGET_REFUSAL:
            self._change(budget_reached=True)
        elif refusal != TURNS_REFUSAL:
            self._change(calls_limit_reached=True)
        raise LimitReached(refusal)

    def _refusal(self, turn: bool, cost_usd: float) -> str:
        held = self._in_flight
        if self._over_budget(cost_usd):
            return BUDGET_REFUSAL
        if turn and self._max_turns is not None and self._usage.turns + held.turns >= self._max_turns:
            return TURNS_REFUSAL
        if self._max_turns is not None and self._max_calls is not None and self._calls + held.calls >= self._max_calls:
            return calls_refusal(self._max_turns)
        return ""

    def _over_budget(self, cost_usd: float) -> bool:
        if self._budget is None:
            return False
        spent, held = self._usage.cost_usd, self._in_flight
        alone = held.calls == 0
        return spent >= self._budget or (not alone and spent + held.cost_usd + cost_usd > self._budget)

    def release(self, reservation: Reservation) -> None:
        """A call admitted with `admit` that ended without an answer to count."""
        with self._lock:
            self._in_flight -= reservation

    def record(self, metered: Metered, cost: float, reservation: Reservation, billed: bool) -> None:
        """Count one model call the upstream answered, and give its ``reservation`` back. ``billed``: the
        answer was a success (2xx), so it counts against the limit on calls, and as a turn when it
        offered tools and did not end in an error. A success whose usage the meter could not read (an
        event too long to hold, a shape it does not know) costs its reservation, its worst case: an
        answer the agent made unreadable must not be free."""
        agent_turn = billed and bool(reservation.turns) and not metered.error
        if billed and not metered.error and metered.total_tokens == 0:
            cost = max(cost, reservation.cost_usd)
        with self._lock:
            self._in_flight -= reservation
            self._calls += 1 if billed else 0
            usage = self._usage
            text = "".join(metered.text).strip()
            errors = (*usage.upstream_errors, metered.error)[-5:] if metered.error else usage.upstream_errors
            self._usage = Usage(**{
                **usage.__dict__, "requests": usage.requests + 1, "turns": usage.turns + (1 if agent_turn else 0),
                "input_tokens": usage.input_tokens + metered.input_tokens,
                "output_tokens": usage.output_tokens + metered.output_tokens,
                "cache_write_tokens": usage.cache_write_tokens + metered.cache_write_tokens,
                "cache_read_tokens": usage.cache_read_tokens + metered.cache_read_tokens,
                "cost_usd": usage.cost_usd + cost, "last_text": text if agent_turn and text else usage.last_text,
                "upstream_errors": errors})
            snapshot = self._usage
        self._on_change(snapshot)

    def refuse_path(self, method: str, path: str) -> None:
        with self._lock:
            refused = f"{method} {path.split('?')[0]}"
            paths = self._usage.refused_paths
        if refused not in paths:
            self._change(refused_paths=(*paths, refused)[-20:])

    def block(self, host: str) -> None:
        """Count a connection the egress proxy refused."""
        with self._lock:
            self._blocked[host] += 1
            blocked = tuple(self._blocked.most_common())
        self._change(blocked=blocked)

    def usage(self) -> Usage:
        with self._lock:
            return self._usage

    def _change(self, **fields) -> None:
        with self._lock:
            self._usage = Usage(**{**self._usage.__dict__, **fields})
            snapshot = self._usage
        self._on_change(snapshot)
