"""The usage of an answer event too long to hold (`vendors.MAX_EVENT_BYTES`), read from its end.

An API may repeat a request's input in the event that carries the usage (OpenAI's
``response.completed`` echoes ``instructions``), so an agent can make that event longer than the
meter holds. The usage object comes after such echoes, so the event's last `TAIL_BYTES` are kept
and the last usage object in them is read; the meter then takes it as a small event of that
vendor's shape.
"""

from __future__ import annotations

import json
from typing import Any

TAIL_BYTES = 256 * 1024
USAGE_KEYS = {"anthropic": b'"usage"', "openai": b'"usage"', "google": b'"usageMetadata"'}


def keep_tail(tail: bytes, data: bytes) -> bytes:
    """``tail`` with ``data`` after it, cut to its last `TAIL_BYTES`."""
    return (tail + data)[-TAIL_BYTES:]


def usage_event(vendor: str, tail: bytes) -> dict[str, Any] | None:
    """A small event carrying the last usage object in ``tail``, shaped as ``vendor`` sends it; None
    when there is none to read."""
    key = USAGE_KEYS[vendor]
    at = tail.rfind(key)
    if at >= 0:  # the last one only: one further back may be the agent's, inside an echoed input
        colon = tail.find(b":", at + len(key))
        try:
            usage, _ = json.JSONDecoder().raw_decode(tail[colon + 1:].lstrip().decode("utf-8", "replace"))
        except ValueError:
            usage = None
        if colon >= 0 and isinstance(usage, dict):
            shapes: dict[str, dict[str, Any]] = {
                "anthropic": {"type": "message_delta", "usage": usage},
                "openai": {"type": "response.completed", "response": {"usage": usage}},
                "google": {"usageMetadata": usage}}
            return shapes[vendor]
    return None
