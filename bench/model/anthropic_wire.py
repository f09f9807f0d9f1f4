"""The Anthropic Messages API's wire format: messages, streamed events, usage, errors.

Shapes follow https://docs.anthropic.com/en/api/messages-streaming and
https://docs.anthropic.com/en/api/errors; the scripted model server builds its
answers with these (the functions every wire module has: `bench.model.wire`).
"""

import json
import uuid
from typing import Any

from bench.model.wire import Answer, endpoint

VENDOR = "anthropic"
MODELS = {"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
                    "created_at": "2025-09-29T00:00:00Z"}],
          "has_more": False, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-sonnet-4-5-20250929"}
"""``GET /v1/models`` (https://docs.anthropic.com/en/api/models-list): one model, one page."""
OAUTH_BETA = "oauth-2025-04-20"
"""The beta a subscription (OAuth) token needs beside it."""

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}
# Input tokens of a turn that fall after the last cache breakpoint.
UNCACHED_TOKENS = 4


def new_id(prefix: str) -> str:
    """A fresh id in the API's style, such as ``msg_01...`` or ``toolu_01...``."""
    return prefix + "01" + uuid.uuid4().hex[:22]


def message(body: dict, blocks: list[dict]) -> dict:
    """The whole assistant message answering request ``body`` with ``blocks``."""
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {"id": new_id("msg_"), "type": "message", "role": "assistant",
            "model": body.get("model") or "claude-sonnet-4-5", "content": blocks,
            "stop_reason": stop, "stop_sequence": None, "usage": usage_for(body, blocks)}


def sse_events(answer: dict, broken: bool = False) -> list[tuple[str, dict]]:
    """``answer`` as the (event, data) pairs of a streamed response; ``broken``
    cuts it with an overloaded ``error`` event where the first block starts."""
    opening = {**answer, "content": [], "stop_reason": None,
               "usage": {**answer["usage"], "output_tokens": 1}}
    events = [("message_start", {"type": "message_start", "message": opening}),
              ("ping", {"type": "ping"})]
    if broken:
        first_block = _block_events(0, answer["content"][0])[:1] if answer["content"] else []
        return events + first_block + [("error", error_body(529))]
    for index, block in enumerate(answer["content"]):
        events += _block_events(index, block)
    closing = {"stop_reason": answer["stop_reason"], "stop_sequence": None}
    return events + [
        ("message_delta", {"type": "message_delta", "delta": closing,
                           "usage": {"output_tokens": answer["usage"]["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]


def _block_events(index: int, block: dict) -> list[tuple[str, dict]]:
    if block["type"] == "tool_use":
        empty = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": part}
                  for part in ["", *_chunks(json.dumps(block["input"]))]]
    else:
        empty = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in _chunks(block["text"])]
    return [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": empty}),
        *[("content_block_delta", {"type": "content_block_delta", "index": index,
                                   "delta": delta}) for delta in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def _chunks(text: str, count: int = 3) -> list[str]:
    """``text`` cut into up to ``count`` non-empty pieces, as the API streams it."""
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def usage_for(body: dict, blocks: list[dict]) -> dict:
    """Token counts in the shape the API reports, estimated at 4 characters a token.

    Turns of the agent loop (requests with tools) are billed as the CLI's prompt
    caching makes them: the conversation so far is read from the cache and its
    newest message is written to it, so the CLI computes a realistic, non-zero cost.
    """
    prompt = _tokens(json.dumps(body))
    output = _tokens(json.dumps(blocks))
    if not body.get("tools"):
        return _usage(prompt, 0, 0, output)
    messages = body.get("messages") or []
    read = prompt - _tokens(json.dumps(messages[-1])) if len(messages) > 1 else 0
    return _usage(UNCACHED_TOKENS, prompt - read, read, output)


def _usage(uncached: int, written: int, read: int, output: int) -> dict:
    return {"input_tokens": uncached, "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read, "output_tokens": output}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def error_body(status: int, text: str | None = None) -> dict:
    """An error in the API's shape for HTTP ``status``."""
    kind = ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": text or kind.replace("_", " ")}}


# -- the interface every wire module has (bench/model/wire.py) ---------------------------

def is_model_call(method: str, path: str) -> bool:
    return method == "POST" and endpoint(path) == "/v1/messages"


def serves(method: str, path: str, headers: dict[str, str]) -> bool:
    """Its paths; ``/v1/models`` is OpenAI's too: Anthropic's clients send ``anthropic-version`` or ``x-api-key``."""
    ours = any(name.lower() in ("anthropic-version", "x-api-key") for name in headers)
    return endpoint(path).startswith("/v1/messages") or (endpoint(path) == "/v1/models" and ours)


def authorized(headers: dict[str, str], path: str, key: str, oauth: bool = False) -> bool:
    """An API key in ``x-api-key``; a subscription token as a bearer token, with its beta."""
    lower = {k.lower(): v for k, v in headers.items()}
    if oauth:
        return lower.get("authorization") == f"Bearer {key}" and OAUTH_BETA in lower.get("anthropic-beta", "")
    return lower.get("x-api-key") == key


def bad_key() -> tuple[int, dict]:
    return 401, error_body(401, "invalid x-api-key")


def other(method: str, path: str, body: dict) -> tuple[int, Any] | None:
    if method == "POST" and endpoint(path) == "/v1/messages/count_tokens":
        return 200, {"input_tokens": usage_for(body, [])["input_tokens"]}
    if method == "GET" and endpoint(path) == "/v1/models":
        return 200, MODELS  # what codeagent asks before any branch exists, to check the key
    return None


def side_blocks(body: dict, text: str) -> list[dict]:
    return [{"type": "text", "text": text}]


def respond(path: str, body: dict, blocks: list[dict], broken: bool = False) -> Answer:
    """The streamed (or whole) message; ``broken`` cuts the stream with an ``error`` event."""
    answer = message(body, [_with_id(block) for block in blocks])
    if not body.get("stream"):
        return Answer("application/json", [json.dumps(answer).encode()], answer["model"], answer["usage"])
    chunks = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in sse_events(answer, broken)]
    return Answer("text/event-stream", chunks, answer["model"], answer["usage"])


def tokens(usage: dict) -> dict[str, int]:
    return {"input_tokens": usage.get("input_tokens", 0), "output_tokens": usage.get("output_tokens", 0),
            "cache_write_tokens": usage.get("cache_creation_input_tokens", 0),
            "cache_read_tokens": usage.get("cache_read_input_tokens", 0)}


def conversation(body: dict) -> list[str]:
    return [message_text(m) for m in body.get("messages") or [] if isinstance(m, dict)]


def user_texts(body: dict) -> list[str]:
    """The text of each user message: prompts and tool results."""
    return [message_text(m) for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]


def prompt(body: dict) -> str:
    messages = conversation(body)
    return messages[0] if messages else ""


def message_text(message: dict) -> str:
    """The text of one message: text blocks, tool results, tool inputs (as JSON)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(message_text({"content": block.get("content")}))
        elif block.get("type") == "tool_use":
            parts.append(json.dumps(block.get("input"), ensure_ascii=False))
    return "\n".join(parts)


def _with_id(block: dict) -> dict:
    if block["type"] == "tool_use":
        return {"type": "tool_use", "id": new_id("toolu_"), **block}
    return block
