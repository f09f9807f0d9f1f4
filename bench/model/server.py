"""A scripted Anthropic Messages API on loopback, for driving the real Claude Code CLI.

The CLI is pointed at it with ``ANTHROPIC_BASE_URL``. Requests that carry tools are
turns of the agent loop and are answered from the script, one turn each; requests
without tools (side requests: title generation and the like) get a short text and do
not advance the script. Streaming answers follow the real event sequence
(https://docs.anthropic.com/en/api/messages-streaming), so the CLI parses them the
way it parses the real API's.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.model.anthropic_wire import error_body, message, new_id, sse_events, usage_for

log = logging.getLogger(__name__)

FINAL_TEXT = "I have finished the task."
SIDE_TEXT = "Scripted answer"
MODELS = {"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
                    "created_at": "2025-09-29T00:00:00Z"}],
          "has_more": False, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-sonnet-4-5-20250929"}
"""``GET /v1/models`` (https://docs.anthropic.com/en/api/models-list): one model, one page."""
# Headers that carry the Anthropic key itself; the CLI must send it, so finding a
# secret there is not a leak.
AUTH_HEADERS = {"x-api-key", "authorization"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body, or None when there was none or it was not JSON."""
    has_tools: bool
    turn: int | None
    """0-based script turn this request was given; ``>= len(script)`` means the final
    text after the script ran out; None for side requests, faulted requests and
    other paths."""
    raw: str = field(default="", repr=False)
    """The body as sent."""


@dataclass
class Fault:
    """Something that goes wrong on a request to /v1/messages.

    It hits the Nth request to /v1/messages when ``request`` is set (1-based, side
    requests included); otherwise the request for script ``turn`` when that is set;
    otherwise the next request with tools. Turns count from 0, the final text after
    the script ran out included. A fault with ``status`` or
    ``stream_error`` leaves the script where it was, so the CLI's retry gets the
    same turn.
    """

    request: int | None = None
    turn: int | None = None
    status: int | None = None
    """Answer with this HTTP status and an Anthropic error body (429, 500, 529...)."""
    retry_after: float | None = None
    """Seconds for the Retry-After header of a ``status`` answer."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    stream_error: bool = False
    """Break the stream with an ``error`` event after the first block starts."""
    times: int = 1
    """How many matching requests it hits before it is used up."""

    def matches(self, number: int, turn: int | None) -> bool:
        """Whether this fault hits request ``number`` that would serve ``turn``."""
        if self.times <= 0:
            return False
        if self.request is not None:
            return number == self.request
        if self.turn is not None:
            return turn == self.turn
        return turn is not None

    @property
    def breaks_answer(self) -> bool:
        """Whether the request goes unanswered, so its turn is not used up."""
        return self.status is not None or self.stream_error


class ModelServer:
    """The scripted model, served from a background thread on loopback.

    ``requests`` holds every request in the order it arrived, ``faults`` the
    faults still to inject (append to it at any time), ``model_seconds`` the time
    spent answering, injected delays included.
    """

    def __init__(self, script: list[list[dict]], workspace: str,
                 secrets: dict[str, str] | None = None, host="127.0.0.1", port=0, api_key: str | None = None):
        """``api_key``: when given, requests with another ``x-api-key`` get a 401, as from Anthropic."""
        self.script = script
        self.api_key = api_key
        self.workspace = workspace
        self.secrets = dict(secrets or {})
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.model_seconds = 0.0
        self.answered: list[tuple[str, dict, bool]] = []
        """(model, usage, offered tools) of every answer served whole: what the agent was billed for."""
        self._lock = threading.Lock()
        self._turn_asked = threading.Condition(self._lock)
        self._messages = 0
        self._turns = 0
        self._highest_turn_asked = -1
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.model = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        """Base URL for ANTHROPIC_BASE_URL."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ModelServer":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def add_secret(self, name: str, value: str) -> None:
        """Watch for ``value`` in requests, reported as ``name``."""
        with self._lock:
            self.secrets[name] = value

    def request_count(self) -> int:
        """How many requests to /v1/messages arrived (faulted ones included)."""
        with self._lock:
            return sum(1 for r in self.requests if _endpoint(r.path) == "/v1/messages")

    def wait_for_turn(self, turn: int, timeout: float | None = None) -> bool:
        """Block until a request for script ``turn`` (from 0) arrived, before its answer; False after ``timeout``."""
        with self._turn_asked:
            return self._turn_asked.wait_for(lambda: self._highest_turn_asked >= turn, timeout)

    def visible_texts(self) -> list[str]:
        """Each request as text, leaving out the headers that carry the key by design."""
        with self._lock:
            return [_visible_text(r) for r in self.requests]

    def leaked_secrets(self) -> list[str]:
        """Names of secrets whose value appeared in any request's path, body or
        headers, leaving out the x-api-key and authorization headers, which carry
        the Anthropic key by design."""
        with self._lock:
            seen = "\n".join(_visible_text(r) for r in self.requests)
            return sorted(n for n, v in self.secrets.items() if v and v in seen)

    def _answer(self, body: dict) -> tuple[int | None, Fault | None, list[dict]]:
        """Pick the answer to a /v1/messages request: (turn, fault, content blocks).

        Counts the request and uses up the turn and fault it gets.
        """
        with self._lock:
            self._messages += 1
            turn = self._turns if _has_tools(body) else None
            if turn is not None and turn > self._highest_turn_asked:
                self._highest_turn_asked = turn
                self._turn_asked.notify_all()
            fault = next((f for f in self.faults if f.matches(self._messages, turn)), None)
            if fault:
                fault.times -= 1
            if fault and fault.breaks_answer:
                return None, fault, self._blocks(turn)
            if turn is not None:
                self._turns += 1
        return turn, fault, self._blocks(turn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _served(self, answer: dict, has_tools: bool) -> None:
        with self._lock:
            self.answered.append((str(answer.get("model") or ""), dict(answer.get("usage") or {}), has_tools))

    def billed(self) -> dict[str, Any]:
        """What the answers served come to: agent-loop turns and their cost at codeagent's prices."""
        from codeagent.gateway.prices import cost_usd

        with self._lock:
            answered = list(self.answered)
        cost = sum(cost_usd("anthropic", model, input_tokens=usage.get("input_tokens", 0),
                            output_tokens=usage.get("output_tokens", 0),
                            cache_write_tokens=usage.get("cache_creation_input_tokens", 0),
                            cache_read_tokens=usage.get("cache_read_input_tokens", 0))
                   for model, usage, _ in answered)
        return {"turns": sum(1 for *_, tools in answered if tools), "cost_usd": cost}

    def _add_seconds(self, seconds: float) -> None:
        with self._lock:
            self.model_seconds += seconds

    def _blocks(self, turn: int | None) -> list[dict]:
        if turn is None:
            return [{"type": "text", "text": SIDE_TEXT}]
        if turn >= len(self.script):
            return [{"type": "text", "text": FINAL_TEXT}]
        return [_with_ids(_substitute(b, self.workspace)) for b in self.script[turn]]


def _endpoint(path: str) -> str:
    """``path`` without its query (Claude Code appends ``?beta=true``)."""
    return path.split("?")[0].rstrip("/")


def _has_tools(body: Any) -> bool:
    return isinstance(body, dict) and bool(body.get("tools"))


def _visible_text(request: RecordedRequest) -> str:
    headers = [v for k, v in request.headers.items() if k.lower() not in AUTH_HEADERS]
    # The body is searched raw and as parsed, so JSON escapes cannot hide a value.
    parsed = json.dumps(request.body, ensure_ascii=False)
    return "\n".join([request.path, *headers, parsed, request.raw])


def _substitute(value: Any, workspace: str) -> Any:
    """``value`` with ``{workspace}`` replaced in every string, recursively."""
    if isinstance(value, str):
        return value.replace("{workspace}", workspace)
    if isinstance(value, list):
        return [_substitute(v, workspace) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, workspace) for k, v in value.items()}
    return value


def _with_ids(block: dict) -> dict:
    if block["type"] == "tool_use":
        return {"type": "tool_use", "id": new_id("toolu_"), **block}
    return block


class _Handler(BaseHTTPRequestHandler):
    """Answers one HTTP request on behalf of ``self.server.model``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802  (http.server's naming)
        self._handle()

    def do_GET(self):  # noqa: N802
        self._handle()

    def do_HEAD(self):  # noqa: N802
        self._handle()

    def log_message(self, format, *args):  # noqa: A002
        log.debug("model server: " + format, *args)

    def _handle(self) -> None:
        started = time.monotonic()
        raw = self._read_body()
        parsed = _parse_json(raw)
        turn, respond = self._route(parsed if isinstance(parsed, dict) else {})
        # Kept before answering, so a client holding its answer finds its request.
        self.server.model._record(RecordedRequest(
            self.command, self.path, dict(self.headers), parsed, _has_tools(parsed), turn, raw))
        try:
            respond()
        finally:
            self.server.model._add_seconds(time.monotonic() - started)

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def _route(self, body: dict) -> tuple[int | None, Callable[[], None]]:
        """The script turn this request gets, if any, and how to answer it."""
        path = _endpoint(self.path)
        key = self.server.model.api_key
        if key is not None and path.startswith("/v1/") and self.headers.get("x-api-key") != key:
            return None, partial(self._send_json, 401, error_body(401, "invalid x-api-key"))
        if self.command == "POST" and path == "/v1/messages":
            turn, fault, blocks = self.server.model._answer(body)
            return turn, partial(self._send_answer, body, fault, blocks)
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            tokens = usage_for(body, [])["input_tokens"]
            return None, partial(self._send_json, 200, {"input_tokens": tokens})
        if self.command == "GET" and path == "/v1/models":
            # What codeagent asks before any branch exists, to check the key.
            return None, partial(self._send_json, 200, MODELS)
        if self.command in ("GET", "HEAD") and path in ("", "/api/hello"):
            # HEAD /api/hello is the CLI's connectivity probe (sent unless
            # CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is set).
            return None, partial(self._send_json, 200, {"status": "ok"})
        log.warning("model server: unknown request %s %s", self.command, self.path)
        text = f"Not found: {self.command} {self.path}"
        return None, partial(self._send_json, 404, error_body(404, text))

    def _send_answer(self, body: dict, fault: Fault | None, blocks: list[dict]) -> None:
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            self._send_json(fault.status, error_body(fault.status), headers)
            return
        answer = message(body, blocks)
        broken = bool(fault and fault.stream_error)
        if not broken:
            self.server.model._served(answer, _has_tools(body))
        if body.get("stream"):
            self._send_sse(sse_events(answer, broken=broken))
        else:
            self._send_json(200, answer)

    def _send_json(self, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"content-type": "application/json",
                            "request-id": new_id("req_"), **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_sse(self, events: list[tuple[str, dict]]) -> None:
        # No length is known up front for a stream: the body ends when the
        # connection closes, as HTTP/1.1 allows.
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", new_id("req_"))
        self.send_header("connection", "close")
        self.end_headers()
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return None
