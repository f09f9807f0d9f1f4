"""The OpenAI Responses API's wire format, as the Codex CLI speaks it (`bench.model.wire` interface).

Codex (``wire_api = "responses"``) sends ``POST {base_url}/responses`` with ``"stream": true``
and reads server-sent events (codex-rs/codex-api/src/sse/responses.rs): the items from
``response.output_item.done`` and the turn's usage from ``response.completed``, whose
``usage.total_tokens`` it requires. The stream must end after ``response.completed``; one that
ends before is "stream closed before response.completed" and is retried (a broken stream). The
whole event sequence the API sends is emitted, with ``sequence_number``
(https://platform.openai.com/docs/api-reference/responses-streaming).

Script blocks: ``{"type": "text"}`` is an assistant ``message`` item; ``{"type": "tool_use",
"name": "exec_command", "input": {"cmd": ...}}`` a ``function_call``; a tool the request declares
as ``custom`` (Codex's ``apply_patch``) a ``custom_tool_call`` whose input is the block's text.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.model.wire import Answer, endpoint, estimate, new_id, pieces, sse

VENDOR = "openai"
ERRORS = {
    # status: (type, code, message) as api.openai.com sends them.
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key",
          "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", "server_is_overloaded", "The server is overloaded."),
}
MODELS = {"object": "list", "data": [{"id": "gpt-5.5", "object": "model", "created": 0, "owned_by": "openai"}]}


def is_model_call(method: str, path: str) -> bool:
    return method == "POST" and endpoint(path) in ("/v1/responses", "/responses")


def serves(method: str, path: str, headers: dict[str, str]) -> bool:
    return endpoint(path) in ("/v1/responses", "/responses", "/v1/models", "/models")


def authorized(headers: dict[str, str], path: str, key: str, oauth: bool = False) -> bool:
    return {k.lower(): v for k, v in headers.items()}.get("authorization") == f"Bearer {key}"


def error_body(status: int, message: str | None = None) -> dict:
    kind, code, default = ERRORS.get(status, ("server_error", None, "Error."))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def bad_key() -> tuple[int, dict]:
    return 401, error_body(401)


def other(method: str, path: str, body: dict) -> tuple[int, Any] | None:
    if method == "GET" and endpoint(path) in ("/v1/models", "/models"):
        return 200, MODELS  # what codeagent asks before any branch exists, to check the key
    return None


def side_blocks(body: dict, text: str) -> list[dict]:
    return [{"type": "text", "text": text}]


def respond(path: str, body: dict, blocks: list[dict], broken: bool = False) -> Answer:
    """The streamed (or whole) response; ``broken`` ends the stream after the first item, unfinished."""
    items = output_items(body, blocks)
    final = response(body, items)
    if not body.get("stream"):
        return Answer("application/json", [json.dumps(final).encode()], final["model"], final["usage"])
    opening = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str, dict]] = [("response.created", {"response": opening}),
                                      ("response.in_progress", {"response": opening})]
    for index, item in enumerate(items):
        events += _item_events(index, item)
        if broken:
            break
    if not broken:
        events.append(("response.completed", {"response": final}))
    numbered = [(name, {"type": name, "sequence_number": n, **data}) for n, (name, data) in enumerate(events)]
    return Answer("text/event-stream", sse(numbered), final["model"], final["usage"])


def tokens(usage: dict) -> dict[str, int]:
    """``input_tokens`` counts the cached ones too; codeagent prices them apart."""
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)
    return {"input_tokens": usage.get("input_tokens", 0) - cached, "output_tokens": usage.get("output_tokens", 0),
            "cache_write_tokens": 0, "cache_read_tokens": cached}


def conversation(body: dict) -> list[str]:
    return [item_text(item) for item in body.get("input") or [] if isinstance(item, dict)]


def user_texts(body: dict) -> list[str]:
    """The text of each user message and tool output: prompts and tool results."""
    return [item_text(item) for item in body.get("input") or [] if isinstance(item, dict) and (
        item.get("role") == "user" or item.get("type") in ("function_call_output", "custom_tool_call_output"))]


def prompt(body: dict) -> str:
    """The user's messages before the model's first output (Codex sends its context, then the prompt)."""
    texts = []
    for item in body.get("input") or []:
        if not isinstance(item, dict) or _is_model_output(item):
            break
        if item.get("role") == "user":
            texts.append(item_text(item))
    return "\n".join(texts)


def item_text(item: dict) -> str:
    """The text of one input item: a message's text, a tool call's input, a tool's output."""
    if item.get("type") in ("function_call_output", "custom_tool_call_output"):
        return str(item.get("output") or "")
    if item.get("type") == "function_call":
        return str(item.get("arguments") or "")
    if item.get("type") == "custom_tool_call":
        return str(item.get("input") or "")
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text") or "") for part in content or [] if isinstance(part, dict))


# -- answers -------------------------------------------------------------------------------

def additional_tools(body: dict) -> list[dict]:
    """The tools of an ``additional_tools`` input item, namespaces opened: what Codex offers its
    "code mode" models (gpt-5.6, gpt-6), whose one tool is ``exec`` (JavaScript that calls the others)."""
    tools = [tool for item in body.get("input") or [] if isinstance(item, dict)
             and item.get("type") == "additional_tools" for tool in item.get("tools") or [] if isinstance(tool, dict)]
    return [inner for tool in tools for inner in (tool.get("tools") or [] if tool.get("type") == "namespace" else [tool])
            if isinstance(inner, dict)]


def output_items(body: dict, blocks: list[dict]) -> list[dict]:
    """The completed output items for ``blocks``."""
    declared = [*(body.get("tools") or []), *additional_tools(body)]
    custom = {t.get("name") for t in declared if isinstance(t, dict) and t.get("type") == "custom"}
    items = []
    for block in blocks:
        if block["type"] == "text":
            items.append({"id": new_id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                          "content": [{"type": "output_text", "text": block["text"], "annotations": [],
                                       "logprobs": []}]})
        elif block["name"] in custom:
            items.append({"id": new_id("ctc_"), "type": "custom_tool_call", "status": "completed",
                          "call_id": new_id("call_"), "name": block["name"], "input": _text_input(block["input"])})
        else:
            arguments = block["input"] if isinstance(block["input"], str) else json.dumps(block["input"])
            items.append({"id": new_id("fc_"), "type": "function_call", "status": "completed",
                          "call_id": new_id("call_"), "name": block["name"], "arguments": arguments})
    return items


def response(body: dict, items: list[dict]) -> dict:
    """The ``response`` object of ``response.completed``."""
    return {"id": new_id("resp_"), "object": "response", "created_at": int(time.time()), "status": "completed",
            "background": False, "error": None, "incomplete_details": None,
            "instructions": body.get("instructions"), "model": body.get("model") or "gpt-5.5", "output": items,
            "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": None,
            "reasoning": body.get("reasoning"), "store": False, "tool_choice": body.get("tool_choice", "auto"),
            "tools": [], "usage": usage_for(body, items), "metadata": {}}


def usage_for(body: dict, items: list[dict]) -> dict:
    """Token counts with prompt caching as the API does it for an agent loop: the input up to the
    model's last output is read from the cache (``cached_tokens`` is part of ``input_tokens``)."""
    prompt_tokens = estimate(body)
    inputs = body.get("input") or []
    answered = [i for i, item in enumerate(inputs) if isinstance(item, dict) and _is_model_output(item)]
    cached = max(0, prompt_tokens - estimate(inputs[answered[-1] + 1:])) if answered else 0
    output = estimate(items)
    return {"input_tokens": prompt_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt_tokens + output}


def _is_model_output(item: dict) -> bool:
    return item.get("type") in ("function_call", "custom_tool_call", "reasoning") or (
        item.get("type") == "message" and item.get("role") == "assistant")


def _text_input(value: Any) -> str:
    """A custom tool's input is its text (``apply_patch``: the patch)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("input") or value.get("patch"), str):
        return value.get("input") or value["patch"]
    raise ValueError(f"a custom tool's input must be its text, got {value!r}")


def _item_events(index: int, item: dict) -> list[tuple[str, dict]]:
    where = {"output_index": index, "item_id": item["id"]}
    added = ("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress"}})
    done = ("response.output_item.done", {"output_index": index, "item": item})
    if item["type"] == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        return [
            ("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress",
                                                                            "content": []}}),
            ("response.content_part.added", {**where, "content_index": 0, "part": part}),
            *[("response.output_text.delta", {**where, "content_index": 0, "delta": piece, "logprobs": []})
              for piece in pieces(text)],
            ("response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}),
            ("response.content_part.done", {**where, "content_index": 0, "part": {**part, "text": text}}),
            done,
        ]
    if item["type"] == "custom_tool_call":
        return [added, *[("response.custom_tool_call_input.delta", {**where, "delta": piece})
                         for piece in pieces(item["input"])],
                ("response.custom_tool_call_input.done", {**where, "input": item["input"]}), done]
    return [added, *[("response.function_call_arguments.delta", {**where, "delta": piece})
                     for piece in pieces(item["arguments"])],
            ("response.function_call_arguments.done", {**where, "arguments": item["arguments"]}), done]
