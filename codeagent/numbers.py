"""A run's numbers in words: turns, tokens, cost and durations, as the comments and summaries show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeagent.text import plural

if TYPE_CHECKING:
    from codeagent.gateway import Usage


def run_numbers(usage: Usage) -> str:
    """"5 turns · 112,858 tokens · $0.12": what a run took, on one line (the gateway's count)."""
    return f"{plural(usage.turns, 'turn')} · {usage.tokens:,} tokens · {format_cost(usage.cost_usd)}"


def format_tokens(usage: Usage) -> str:
    """Tokens by kind: "20 in · 308 out · 22,551 cache write · 89,979 cache read"."""
    return (f"{usage.input_tokens:,} in · {usage.output_tokens:,} out · "
            f"{usage.cache_write_tokens:,} cache write · {usage.cache_read_tokens:,} cache read")


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
