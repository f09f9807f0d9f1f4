"""What model tokens cost: US dollars per million tokens, by vendor and model name.

One table for every agent, so the budget (`max-cost-usd`) means the same whichever agent runs.
Sources, as published by each vendor:

* Anthropic: https://docs.claude.com/en/docs/about-claude/pricing
* OpenAI: https://openai.com/api/pricing/
* Google: https://ai.google.dev/gemini-api/docs/pricing (prompts up to 200k tokens)

A model name matches the first entry whose key it contains with nothing after the key but
dash-separated version numbers and dates and the words in `VERSION_WORDS`
("claude-sonnet-4-5-20250929" matches "sonnet", "gpt-5-codex" "gpt-5"; "o3-pro", "o3-deep-research"
or "gpt-5.2", a newer minor version, do not match "o3" or "gpt-5"). A model the table does not know is
priced at its vendor's most expensive entry, so that an unknown name (which the agent may choose)
can only make the budget stop early, never late.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    """Input written to the prompt cache (Anthropic); other vendors bill it as input."""
    cache_read: float
    """Input read from the prompt cache (cached input)."""


PRICES: dict[str, tuple[tuple[str, Price], ...]] = {
    "anthropic": (
        ("opus-4-1", Price(15.0, 75.0, 18.75, 1.5)),
        ("opus-4-0", Price(15.0, 75.0, 18.75, 1.5)),
        ("opus-4-2025", Price(15.0, 75.0, 18.75, 1.5)),
        ("3-opus", Price(15.0, 75.0, 18.75, 1.5)),
        ("opus", Price(5.0, 25.0, 6.25, 0.5)),
        ("3-5-haiku", Price(0.8, 4.0, 1.0, 0.08)),
        ("haiku", Price(1.0, 5.0, 1.25, 0.1)),
        ("sonnet", Price(3.0, 15.0, 3.75, 0.3)),
    ),
    "openai": (
        ("o1-pro", Price(150.0, 600.0, 150.0, 150.0)),
        ("gpt-5.5-pro", Price(30.0, 180.0, 30.0, 30.0)),
        ("gpt-5.4-pro", Price(30.0, 180.0, 30.0, 30.0)),
        ("gpt-5.4-mini", Price(0.75, 4.5, 0.75, 0.075)),
        ("gpt-5.4-nano", Price(0.2, 1.25, 0.2, 0.02)),
        ("gpt-5.5", Price(5.0, 30.0, 5.0, 0.5)),
        ("gpt-5.4", Price(2.5, 15.0, 2.5, 0.25)),
        ("gpt-5-mini", Price(0.25, 2.0, 0.25, 0.025)),
        ("gpt-5-nano", Price(0.05, 0.4, 0.05, 0.005)),
        ("gpt-5-pro", Price(15.0, 120.0, 15.0, 15.0)),
        ("gpt-5", Price(1.25, 10.0, 1.25, 0.125)),
        ("gpt-4.1-mini", Price(0.4, 1.6, 0.4, 0.1)),
        ("gpt-4.1-nano", Price(0.1, 0.4, 0.1, 0.025)),
        ("gpt-4.1", Price(2.0, 8.0, 2.0, 0.5)),
        ("o4-mini", Price(1.1, 4.4, 1.1, 0.275)),
        ("o3-mini", Price(1.1, 4.4, 1.1, 0.55)),
        ("o3-pro", Price(20.0, 80.0, 20.0, 20.0)),
        ("o3", Price(2.0, 8.0, 2.0, 0.5)),
        ("o1", Price(15.0, 60.0, 15.0, 7.5)),
    ),
    "google": (
        ("2.5-flash-lite", Price(0.1, 0.4, 0.1, 0.025)),
        ("2.5-flash", Price(0.3, 2.5, 0.3, 0.075)),
        ("2.5-pro", Price(1.25, 10.0, 1.25, 0.31)),
        ("3-pro", Price(2.0, 12.0, 2.0, 0.2)),
    ),
}


VERSION_WORDS = {"latest", "preview", "exp", "codex", "chat"}
"""Words a model name may carry after its family's key and still be that model."""


def price_of(vendor: str, model: str) -> Price:
    """The price of ``model``; the vendor's most expensive one when the table does not know it."""
    table = PRICES[vendor]
    for key, price in table:
        at = model.find(key)
        rest = model[at + len(key):].lower()
        if at >= 0 and not rest.startswith(".") and set(re.findall(r"[a-z]+", rest)) <= VERSION_WORDS:
            return price
    return max((price for _, price in table), key=lambda price: price.output)


def cost_usd(vendor: str, model: str, *, input_tokens: int, output_tokens: int,
             cache_write_tokens: int = 0, cache_read_tokens: int = 0) -> float:
    """What the tokens of one response cost."""
    price = price_of(vendor, model)
    return (input_tokens * price.input + output_tokens * price.output + cache_write_tokens * price.cache_write
            + cache_read_tokens * price.cache_read) / 1_000_000
