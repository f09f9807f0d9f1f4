"""What the vendors' wire modules share: the shape of an answer and the token estimate.

Each wire module (``anthropic_wire``, ``openai_wire``, ``gemini_wire``) has the same functions:

* ``VENDOR``: its name in codeagent's price table;
* ``is_model_call(method, path)``: a request the script answers; ``serves(method, path, headers)``:
  any request of this API (model calls, token counts, the model list);
* ``authorized(headers, path, key, oauth)``, ``bad_key()``: the API's own key check and refusal;
* ``error_body(status)``: an error in the API's shape;
* ``other(method, path, body)``: the answer to a request that is not a model call, or None;
* ``side_blocks(body, text)``: the answer to a request without tools;
* ``respond(path, body, blocks, broken)``: an `Answer` to a model call;
* ``tokens(usage)``: the answer's usage as codeagent's price table counts it;
* ``conversation(body)``: each message of a request as text; ``prompt(body)``: its user prompt;
  ``user_texts(body)``: its user messages and tool results.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """An answer to a model call, ready to send."""

    content_type: str
    """``text/event-stream`` (sent as it comes, then the connection closes) or ``application/json``."""
    chunks: list[bytes]
    model: str
    usage: dict[str, Any]
    """As the API reports it (for `tokens`)."""


def new_id(prefix: str) -> str:
    """A fresh id in an API's style."""
    return prefix + uuid.uuid4().hex[:24]


def pieces(text: str, count: int = 3) -> list[str]:
    """``text`` cut into up to ``count`` non-empty pieces, as the APIs stream it."""
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def estimate(value: Any) -> int:
    """Tokens of ``value`` as JSON, at about 4 characters a token."""
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text) // 4)


def endpoint(path: str) -> str:
    """``path`` without its query."""
    return path.split("?")[0].rstrip("/")


def sse(events: list[tuple[str, dict]]) -> list[bytes]:
    """Named server-sent events, one chunk each."""
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
