"""The gateway's account of a run: tokens, turns, cost, the budget, and the hosts it refused.

It is the one authority for those numbers: the outputs, the progress comment and the job
summary read them here, never from what the agent prints.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from codeagent.gateway.vendors import Metered


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
    refused_paths: tuple[str, ...] = ()
    """API paths the gateway would not pass to the upstream (not model calls an agent needs)."""
    blocked: tuple[tuple[str, int], ...] = ()
    """Hosts the egress proxy refused, with how often, most often first."""
    upstream_errors: tuple[str, ...] = ()
    """Errors the model API answered with (the last few)."""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


class Ledger:
    """Thread-safe: each request the gateway serves runs on a thread of its own."""

    def __init__(self, budget_usd: float | None = None, on_change: Callable[[Usage], None] | None = None,
                 max_turns: int | None = None) -> None:
        self._budget = budget_usd
        self._max_turns = max_turns
        self._usage = Usage()
        self._turns_in_flight = 0
        self._blocked: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._on_change = on_change or (lambda usage: None)

    def over_budget(self) -> bool:
        """Whether the next model call is to be refused: the cost reached the budget."""
        with self._lock:
            return self._budget is not None and self._usage.cost_usd >= self._budget

    def refuse_over_budget(self) -> None:
        self._change(budget_reached=True)

    def take_turn(self) -> bool:
        """Whether a turn of the agent's loop may go to the model: False once it had `max-turns`,
        counting the turns still being answered, so calls in flight cannot pass the limit together.
        A turn taken is given back by `record` or `drop_turn`.

        Claude Code and Gemini CLI stop themselves at the limit; Codex has none of its own."""
        with self._lock:
            if self._max_turns is not None and self._usage.turns + self._turns_in_flight >= self._max_turns:
                return False
            self._turns_in_flight += 1
            return True

    def drop_turn(self) -> None:
        """A turn taken with `take_turn` that ended without an answer to count."""
        with self._lock:
            self._turns_in_flight -= 1

    def record(self, metered: Metered, cost: float, agent_turn: bool, taken: bool = False) -> None:
        """Count one answered model call; ``taken``: it had a turn from `take_turn`, given back now."""
        with self._lock:
            self._turns_in_flight -= 1 if taken else 0
            usage = self._usage
            text = "".join(metered.text).strip()
            errors = (*usage.upstream_errors, metered.error)[-5:] if metered.error else usage.upstream_errors
            self._usage = Usage(
                requests=usage.requests + 1, turns=usage.turns + (1 if agent_turn else 0),
                input_tokens=usage.input_tokens + metered.input_tokens,
                output_tokens=usage.output_tokens + metered.output_tokens,
                cache_write_tokens=usage.cache_write_tokens + metered.cache_write_tokens,
                cache_read_tokens=usage.cache_read_tokens + metered.cache_read_tokens,
                cost_usd=usage.cost_usd + cost,
                last_text=text if agent_turn and text else usage.last_text,
                budget_reached=usage.budget_reached, refused_paths=usage.refused_paths,
                blocked=usage.blocked, upstream_errors=errors,
            )
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
