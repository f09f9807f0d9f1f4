"""The Gemini API's wire format (generativelanguage v1beta), as Gemini CLI speaks it (`bench.model.wire`).

Gemini CLI (through @google/genai) sends ``POST {GOOGLE_GEMINI_BASE_URL}/v1beta/models/{model}
:streamGenerateContent?alt=sse`` for its agent loop and ``:generateContent`` / ``:countTokens``
for side requests, with the key in ``x-goog-api-key``. A streamed answer is a series of ``data:
{GenerateContentResponse}`` lines (no event names); the CLI joins the chunks' parts and requires a
``finishReason`` in the last one, else it retries ("Model stream ended without a finish reason":
a broken stream). The last chunk's ``usageMetadata`` is the request's token count
(https://ai.google.dev/api/generate-content).

Script blocks: ``{"type": "text"}`` is a ``text`` part; ``{"type": "tool_use", "name":
"run_shell_command", "input": {"command": ...}}`` a ``functionCall`` part. Side requests that ask
for JSON (``generationConfig.responseMimeType``) get JSON that fits the schemas the CLI uses.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.model.wire import Answer, endpoint, estimate, new_id

VENDOR = "google"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {400: "Request contains an invalid argument.", 401: "Request had invalid authentication credentials.",
            403: "The caller does not have permission", 404: "Requested entity was not found.",
            429: "Resource has been exhausted (e.g. check quota).", 500: "An internal error has occurred.",
            503: "The model is overloaded. Please try again later."}
MODELS = {"models": [{"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro",
                      "supportedGenerationMethods": ["generateContent", "countTokens"]}]}
_MODEL_PATH = re.compile(r"/v1(?:beta|alpha)?/models/([^/:]+):(\w+)")


def method_of(path: str) -> tuple[str, str] | None:
    """(model, method) of ``/v1beta/models/{model}:{method}``, else None."""
    match = _MODEL_PATH.fullmatch(endpoint(path))
    return (match[1], match[2]) if match else None


def is_model_call(method: str, path: str) -> bool:
    found = method_of(path)
    return method == "POST" and found is not None and found[1] in ("streamGenerateContent", "generateContent")


def serves(method: str, path: str, headers: dict[str, str]) -> bool:
    return method_of(path) is not None or bool(re.fullmatch(r"/v1(beta|alpha)?/models", endpoint(path)))


def authorized(headers: dict[str, str], path: str, key: str, oauth: bool = False) -> bool:
    given = {k.lower(): v for k, v in headers.items()}.get("x-goog-api-key")
    return (given or parse_qs(urlsplit(path).query).get("key", [""])[0]) == key


def error_body(status: int, message: str | None = None, reason: str | None = None) -> dict:
    """A google.rpc.Status as the API sends it; ``reason`` adds an ErrorInfo detail."""
    error: dict[str, Any] = {"code": status, "message": message or MESSAGES.get(status, "Error."),
                             "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]
    return {"error": error}


def bad_key() -> tuple[int, dict]:
    """What generativelanguage.googleapis.com answers to a wrong key: 400, not 401."""
    return 400, error_body(400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")


def other(method: str, path: str, body: dict) -> tuple[int, Any] | None:
    found = method_of(path)
    if method == "POST" and found and found[1] == "countTokens":
        return 200, {"totalTokens": estimate(body)}
    if method == "GET" and re.fullmatch(r"/v1(beta|alpha)?/models", endpoint(path)):
        return 200, MODELS  # what codeagent asks before any branch exists, to check the key
    return None


def side_blocks(body: dict, text: str) -> list[dict]:
    """A request without tools: JSON when JSON is asked for (the CLI's routing, next-speaker checks)."""
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") != "application/json":
        return [{"type": "text", "text": text}]
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    return [{"type": "text", "text": json.dumps(_json_for(schema))}]


def respond(path: str, body: dict, blocks: list[dict], broken: bool = False) -> Answer:
    """One chunk per part, the last with ``finishReason`` (``broken``: the first chunk only, without one)."""
    model, method = method_of(path) or ("gemini-2.5-pro", "generateContent")
    parts = parts_for(blocks) or [{"text": ""}]
    usage = usage_for(body, parts)
    response_id = new_id("")
    if method == "generateContent":
        whole = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": usage, "modelVersion": model, "responseId": response_id}
        return Answer("application/json", [json.dumps(whole).encode()], model, usage)
    chunks = []
    for index, part in enumerate(parts[:1] if broken else parts):
        last = index == len(parts) - 1 and not broken
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        so_far = usage if last else {key: usage[key] for key in ("promptTokenCount", "promptTokensDetails")}
        chunks.append({"candidates": [candidate], "usageMetadata": so_far, "modelVersion": model,
                       "responseId": response_id})
    return Answer("text/event-stream", [f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks], model, usage)


def tokens(usage: dict) -> dict[str, int]:
    """``promptTokenCount`` counts the cached tokens too; thoughts are billed as output."""
    cached = usage.get("cachedContentTokenCount", 0)
    return {"input_tokens": usage.get("promptTokenCount", 0) - cached,
            "output_tokens": usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0),
            "cache_write_tokens": 0, "cache_read_tokens": cached}


def conversation(body: dict) -> list[str]:
    return [content_text(content) for content in body.get("contents") or [] if isinstance(content, dict)]


def user_texts(body: dict) -> list[str]:
    """The text of each user content: prompts and function responses."""
    return [content_text(c) for c in body.get("contents") or [] if isinstance(c, dict) and c.get("role") == "user"]


def prompt(body: dict) -> str:
    contents = conversation(body)
    return contents[0] if contents else ""


def content_text(content: dict) -> str:
    """The text of one content: text parts, function calls' arguments and responses (as JSON)."""
    texts = []
    for part in content.get("parts") or []:
        if not isinstance(part, dict):
            continue
        if "text" in part and not part.get("thought"):
            texts.append(str(part["text"]))
        elif "functionCall" in part:
            texts.append(json.dumps(part["functionCall"].get("args"), ensure_ascii=False))
        elif "functionResponse" in part:
            texts.append(json.dumps(part["functionResponse"].get("response"), ensure_ascii=False))
    return "\n".join(texts)


def parts_for(blocks: list[dict]) -> list[dict]:
    return [{"text": block["text"]} if block["type"] == "text" else
            {"functionCall": {"id": new_id("call_"), "name": block["name"], "args": block["input"]}}
            for block in blocks]


def usage_for(body: dict, parts: list[dict]) -> dict:
    """Token counts with implicit caching: the contents up to the model's last turn count as cached
    (``cachedContentTokenCount`` is part of ``promptTokenCount``)."""
    prompt_tokens = estimate(body)
    contents = body.get("contents") or []
    answered = [i for i, content in enumerate(contents) if isinstance(content, dict) and content.get("role") == "model"]
    cached = max(0, prompt_tokens - estimate(contents[answered[-1] + 1:])) if answered else 0
    output = estimate(parts)
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output,
                             "totalTokenCount": prompt_tokens + output,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return usage


def _json_for(schema: dict) -> Any:
    """A small value that fits ``schema``; the CLI's own schemas get a sensible one."""
    properties = schema.get("properties") or {}
    if "next_speaker" in properties:  # the next-speaker check: the user speaks, the turn ends
        return {"reasoning": "The model finished its turn.", "next_speaker": "user"}
    kind = schema.get("type", "object")
    kind = kind.lower() if isinstance(kind, str) else "object"
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        return {name: _json_for(sub) for name, sub in properties.items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return schema.get("minimum", 1)  # the router's complexity_score must be >= 1
    return False if kind == "boolean" else "scripted"
