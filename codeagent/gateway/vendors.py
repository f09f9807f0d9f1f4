"""The model APIs the gateway speaks: how each authenticates, which paths it serves, and how its
answers report usage.

The sandbox holds a placeholder key; the gateway drops whatever credential a request carries and
puts the real one on the request to the upstream the workflow configured. Only the paths an agent
needs pass (its turns, token counting, the model list), so the key cannot be used for anything
else (files, batches, fine-tuning). Each answer is read as it streams for the tokens it used, the
model's text and whether it asked for tools.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from codeagent.gateway.call_body import max_output_tokens, unseen_fields, vendor_side_tools
from codeagent.gateway.prices import cost_usd
from codeagent.gateway.usage_tail import keep_tail, usage_event

CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "proxy-authorization"})
"""Request headers that carry a credential; none of the sandbox's reaches the upstream."""

MAX_EVENT_BYTES = 4 * 1024 * 1024
"""Longest SSE event or JSON answer read for its usage; longer ones are passed on but not read."""
BYTES_PER_TOKEN = 4
"""A request's input tokens, estimated from its size before it goes (English prose and code run 3 to 4 bytes a
token; a JSON body's own syntax is not tokenized)."""


@dataclass(frozen=True)
class ModelCall:
    """What the gateway knows of a model call before it goes: what to reserve for it."""

    model: str
    """The model it names ("" when it names none: priced as the vendor's most expensive)."""
    turn: bool
    """A turn of the agent's loop: it offers tools."""
    body_bytes: int
    max_output_tokens: int = 0
    """The most output it may be billed for (`call_body.max_output_tokens`)."""
    vendor_side_tools: tuple[str, ...] = ()
    """Tools it offers that the model API would run itself, reaching the network (`call_body`)."""
    unseen_fields: tuple[str, ...] = ()
    """Fields it sets that bill what the gateway cannot see (`call_body.UNSEEN_FIELDS`)."""
    readable: bool = True  # its body is a JSON object: one the gateway could check


@dataclass
class Metered:
    """What one model answer used and said."""

    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    text: list[str] = field(default_factory=list)
    """The model's text, in pieces as they streamed."""
    tool_calls: int = 0
    error: str = ""
    """An error the upstream answered with, in its words."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True)
class Vendor:
    """One model API: its name in the price table, its credential header, its paths."""

    name: str
    paths: tuple[tuple[str, re.Pattern], ...]
    """(method, path regex) of the requests that pass."""
    turn_paths: re.Pattern
    """Requests that are model calls (metered, refused over budget)."""

    def credential(self, secret: str, oauth: bool = False) -> dict[str, str]:
        """The header(s) that carry ``secret`` to the upstream."""
        if self.name == "anthropic":
            return {"authorization": f"Bearer {secret}"} if oauth else {"x-api-key": secret}
        if self.name == "google":
            return {"x-goog-api-key": secret}
        return {"authorization": f"Bearer {secret}"}

    def allows(self, method: str, path: str) -> bool:
        """Whether the request may pass to the upstream."""
        bare = urlsplit(path).path
        return any(method == allowed and pattern.fullmatch(bare) for allowed, pattern in self.paths)

    def is_model_call(self, method: str, path: str) -> bool:
        return method == "POST" and bool(self.turn_paths.search(urlsplit(path).path))

    def clean_path(self, path: str) -> str:
        """``path`` without a key in its query (Gemini clients may send ``?key=``)."""
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "key"]
        return parts.path + (f"?{urlencode(query)}" if query else "")

    def model_of(self, path: str, body: Any) -> str:
        """The model a request asks for."""
        if self.name == "google":
            found = re.search(r"/models/([^/:]+)", urlsplit(path).path)
            return found[1] if found else ""
        return str(body.get("model") or "") if isinstance(body, dict) else ""

    def is_agent_turn(self, body: Any) -> bool:
        """A turn of the agent's loop (it offers tools), not a side request such as a title.

        Codex offers the tools of its "code mode" models (gpt-5.6, gpt-6) in an input item of
        type ``additional_tools`` rather than in ``tools``."""
        if not isinstance(body, dict):
            return False
        items = body.get("input")
        return bool(body.get("tools")) or (isinstance(items, list) and any(
            isinstance(item, dict) and item.get("type") == "additional_tools" for item in items))

    def describe(self, path: str, body: Any, body_bytes: int) -> ModelCall:
        """A model call's ``body`` (parsed JSON, or None), as far as its admission goes."""
        return ModelCall(self.model_of(path, body), self.is_agent_turn(body), body_bytes,
                         max_output_tokens(self.name, body), vendor_side_tools(self.name, body),
                         unseen_fields(self.name, body), isinstance(body, dict))

    def worst_cost(self, call: ModelCall) -> float:
        """What ``call`` may cost: its size in tokens at its model's input price, none of it read from the
        prompt cache, and its output limit at the output price (a model the table does not know priced as
        the vendor's most expensive)."""
        return cost_usd(self.name, call.model, input_tokens=call.body_bytes // BYTES_PER_TOKEN,
                        output_tokens=call.max_output_tokens)

    def refusal(self, status: int, message: str) -> bytes:
        """An error body in the vendor's own shape, so the CLI reports ``message``."""
        if self.name == "anthropic":
            kind = {400: "invalid_request_error", 403: "permission_error", 404: "not_found_error",
                    413: "request_too_large"}.get(status, "api_error")
            return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
        if self.name == "google":
            state = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 413: "INVALID_ARGUMENT"}.get(
                status, "INTERNAL")
            return json.dumps({"error": {"code": status, "message": message, "status": state}}).encode()
        kind = {400: "invalid_request_error", 403: "permission_denied", 404: "not_found",
                413: "invalid_request_error"}.get(status, "server_error")
        return json.dumps({"error": {"message": message, "type": kind, "code": kind}}).encode()

    def cost(self, metered: Metered) -> float:
        return cost_usd(self.name, metered.model, input_tokens=metered.input_tokens,
                        output_tokens=metered.output_tokens, cache_write_tokens=metered.cache_write_tokens,
                        cache_read_tokens=metered.cache_read_tokens)

    def meter(self, model: str) -> Meter:
        """A reader for one answer of this vendor."""
        return Meter(self.name, model)


ANTHROPIC = Vendor(
    "anthropic",
    paths=(("POST", re.compile(r"/v1/messages(/count_tokens)?")), ("GET", re.compile(r"/v1/models(/[\w.:-]+)?"))),
    turn_paths=re.compile(r"/v1/messages$"),
)
OPENAI = Vendor(
    "openai",
    paths=(("POST", re.compile(r"(/v1)?/responses")), ("GET", re.compile(r"(/v1)?/models(/[\w.:-]+)?"))),
    turn_paths=re.compile(r"/responses$"),
)
GOOGLE = Vendor(
    "google",
    paths=(("POST", re.compile(r"/v1(beta)?/models/[\w.-]+:(streamGenerateContent|generateContent|countTokens)")),
           ("GET", re.compile(r"/v1(beta)?/models(/[\w.-]+)?"))),
    turn_paths=re.compile(r":(streamGenerateContent|generateContent)$"),
)
VENDORS = {vendor.name: vendor for vendor in (ANTHROPIC, OPENAI, GOOGLE)}


class Meter:
    """Reads one answer as it streams past (SSE or one JSON document) into a `Metered`.

    Linear in the answer's size: complete lines are taken from the buffer as they arrive,
    and of an event longer than MAX_EVENT_BYTES only the end is kept, for its usage (`usage_tail`).
    """

    def __init__(self, vendor: str, model: str) -> None:
        self.metered = Metered(model=model)
        self._vendor = vendor
        self._pending = bytearray()
        self._data: list[bytes] = []
        self._data_size = 0
        self._tail = b""
        """The end of an event too long to hold, for its usage (`usage_tail`)."""
        self._sse: bool | None = None
        self._whole = bytearray()

    def feed(self, chunk: bytes) -> None:
        if self._sse is None:
            self._sse = not chunk.lstrip()[:1] in (b"{", b"[")
        if not self._sse:
            if not self._tail and len(self._whole) + len(chunk) <= MAX_EVENT_BYTES:
                self._whole += chunk
            else:
                self._tail, self._whole = keep_tail(self._tail or bytes(self._whole), chunk), bytearray()
            return
        self._pending += chunk
        start = 0
        while (end := self._pending.find(b"\n", start)) != -1:
            self._line(bytes(self._pending[start:end]).rstrip(b"\r"))
            start = end + 1
        del self._pending[:start]

    def finish(self) -> Metered:
        """The usage of the whole answer, once it ended."""
        if self._sse:
            self._line(bytes(self._pending))
            self._line(b"")
        elif self._tail:
            self._event(usage_event(self._vendor, self._tail))
        elif self._whole:
            documents = _json(bytes(self._whole))
            for document in documents if isinstance(documents, list) else [documents]:
                self._event(document)
        return self.metered

    def _line(self, line: bytes) -> None:
        if not line:
            if self._tail:
                self._event(usage_event(self._vendor, self._tail))
            elif self._data:
                self._event(_json(b"\n".join(self._data)))
            self._data, self._data_size, self._tail = [], 0, b""
        elif line.startswith(b"data:"):
            self._data_size += len(line)
            if self._data_size <= MAX_EVENT_BYTES:
                self._data.append(line[5:].strip())
            else:  # too long to hold: keep its end, where the usage is
                self._tail = keep_tail(self._tail or b"\n".join(self._data), b"\n" + line[5:].strip())
                self._data = []

    def _event(self, data: Any) -> None:
        if isinstance(data, dict):
            {"anthropic": _anthropic, "openai": _openai, "google": _google}[self._vendor](data, self.metered)


def _anthropic(event: dict, metered: Metered) -> None:
    """Messages API events: https://docs.anthropic.com/en/api/messages-streaming (or one whole message)."""
    kind = event.get("type")
    message = event.get("message") if kind == "message_start" else event if kind == "message" else None
    if isinstance(message, dict):
        metered.model = str(message.get("model") or metered.model)
        _anthropic_usage(message.get("usage"), metered)
        for block in message.get("content") or []:
            _anthropic_block(block, metered)
    elif kind == "message_delta":
        _anthropic_usage(event.get("usage"), metered)
    elif kind == "content_block_start":
        _anthropic_block(event.get("content_block"), metered)
    elif kind == "content_block_delta":
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            metered.text.append(str(delta.get("text") or ""))
    elif kind == "error":
        metered.error = str((event.get("error") or {}).get("message") or "error")


def _anthropic_usage(usage: Any, metered: Metered) -> None:
    """Counts in a usage object are totals so far: the last one seen wins."""
    if not isinstance(usage, dict):
        return
    for field_name, key in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                            ("cache_write_tokens", "cache_creation_input_tokens"),
                            ("cache_read_tokens", "cache_read_input_tokens")):
        if isinstance(usage.get(key), int):
            setattr(metered, field_name, usage[key])


def _anthropic_block(block: Any, metered: Metered) -> None:
    if not isinstance(block, dict):
        return
    if block.get("type") == "tool_use":
        metered.tool_calls += 1
    elif block.get("type") == "text" and block.get("text"):
        metered.text.append(str(block["text"]))


def _openai(event: dict, metered: Metered) -> None:
    """Responses API (https://platform.openai.com/docs/api-reference/responses-streaming): the final
    ``response.completed`` carries the output and the usage; an error is an ``error`` event, a
    ``response.failed`` or, for an HTTP error, the body's ``error`` object."""
    response = event.get("response") if isinstance(event.get("response"), dict) else (
        event if event.get("object") == "response" else None)
    metered.error = _openai_error(event, response) or metered.error
    if not isinstance(response, dict) or response.get("status") not in ("completed", "incomplete", None):
        return
    metered.model = str(response.get("model") or metered.model)
    usage = response.get("usage")
    if isinstance(usage, dict):
        cached = _int((usage.get("input_tokens_details") or {}).get("cached_tokens"))
        metered.input_tokens = max(_int(usage.get("input_tokens")) - cached, 0)
        metered.cache_read_tokens = cached
        metered.output_tokens = _int(usage.get("output_tokens"))
    output = response.get("output")
    if isinstance(output, list) and output:
        metered.text, metered.tool_calls = [], 0
        for item in output:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                metered.text += [str(part.get("text") or "") for part in item.get("content") or []
                                 if isinstance(part, dict) and part.get("type") == "output_text"]
            elif item.get("type") in ("function_call", "custom_tool_call", "local_shell_call"):
                metered.tool_calls += 1


def _openai_error(event: dict, response: dict | None) -> str:
    if event.get("type") == "error":
        return str(event.get("message") or event.get("code") or "error")
    for holder in (event, response or {}):
        if isinstance(holder.get("error"), dict):
            return str(holder["error"].get("message") or holder["error"].get("code") or "error")
    return ""


def _google(chunk: dict, metered: Metered) -> None:
    """streamGenerateContent chunks: parts as they come, usage totals in (at least) the last one."""
    if isinstance(chunk.get("error"), dict):
        metered.error = str(chunk["error"].get("message") or "error")
    metered.model = str(chunk.get("modelVersion") or metered.model)
    for candidate in chunk.get("candidates") or []:
        for part in ((candidate or {}).get("content") or {}).get("parts") or []:
            if isinstance(part, dict) and part.get("functionCall"):
                metered.tool_calls += 1
            elif isinstance(part, dict) and part.get("text") and not part.get("thought"):
                metered.text.append(str(part["text"]))
    usage = chunk.get("usageMetadata")
    if isinstance(usage, dict):
        cached = _int(usage.get("cachedContentTokenCount"))
        metered.input_tokens = max(_int(usage.get("promptTokenCount")) - cached, 0)
        metered.cache_read_tokens = cached
        metered.output_tokens = _int(usage.get("candidatesTokenCount")) + _int(usage.get("thoughtsTokenCount"))


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
