"""A scripted model on loopback, for driving the real agent CLIs: Claude Code, Codex, Gemini CLI.

It speaks each vendor's API, chosen by the request's path: the Anthropic Messages API
(``/v1/messages``), the OpenAI Responses API (``/v1/responses``) and the Gemini API
(``/v1beta/models/M:streamGenerateContent``); each lives in a wire module (`bench.model.wire`).
Requests that carry tools are turns of the agent loop and are answered from the script, one turn
each; requests without tools (side requests: title generation and the like) get a short text and
do not advance the script. Streaming answers follow each API's real event sequence, so the CLIs
parse them the way they parse the real API's.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

from bench.model import anthropic_wire, gemini_wire, openai_wire
from bench.model.wire import Answer, endpoint

log = logging.getLogger(__name__)

FINAL_TEXT = "I have finished the task."
SIDE_TEXT = "Scripted answer"
MODELS = anthropic_wire.MODELS
WIRES: tuple[ModuleType, ...] = (anthropic_wire, openai_wire, gemini_wire)
"""The APIs the server speaks; a request's path picks one."""
# Headers that carry the model key itself; the CLI must send it, so finding a
# secret there is not a leak.
AUTH_HEADERS = {"x-api-key", "authorization", "x-goog-api-key"}


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
    wire: str = "anthropic"
    """The vendor whose API the path belongs to (``anthropic``, ``openai``, ``google``)."""


@dataclass
class Fault:
    """Something that goes wrong on a model call (``/v1/messages``, ``/v1/responses``, ``...:streamGenerateContent``).

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
    """Answer with this HTTP status and the API's error body (429, 500, 529...)."""
    retry_after: float | None = None
    """Seconds for the Retry-After header of a ``status`` answer."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    stream_error: bool = False
    """Break the stream after its first block, as each API's clients retry: Anthropic with an ``error``
    event, OpenAI without ``response.completed``, Gemini without a ``finishReason``."""
    times: int = 1
    """How many matching requests it hits before it is used up."""
    message: str | None = None
    """The error message of a ``status`` answer, instead of the API's usual one."""

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
                 secrets: dict[str, str] | None = None, host="127.0.0.1", port=0, api_key: str | None = None,
                 oauth: bool = False, substitutions: dict[str, str] | None = None):
        """``api_key``: when given, requests with another key get the API's refusal (a 401 from
        Anthropic and OpenAI, a 400 from Google); with ``oauth`` it is a subscription token, which
        Anthropic takes as a bearer token with the OAuth beta. ``substitutions``: more ``{name}``
        placeholders of the script, beside ``{workspace}``."""
        self.script = script
        self.substitutions = {"{workspace}": workspace, **{f"{{{k}}}": v for k, v in (substitutions or {}).items()}}
        self.api_key = api_key
        self.oauth = oauth
        self.workspace = workspace
        self.secrets = dict(secrets or {})
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.model_seconds = 0.0
        self.answered: list[tuple[ModuleType, str, dict, bool]] = []
        """(wire, model, usage, offered tools) of every answer served whole: what the agent was billed for."""
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
        """How many model calls arrived (faulted ones included; not token counts or the model list)."""
        with self._lock:
            return sum(1 for r in self.requests if _wire(r.method, r.path).is_model_call(r.method, r.path))

    def wait_for_turn(self, turn: int, timeout: float | None = None) -> bool:
        """Block until a request for script ``turn`` (from 0) arrived, before its answer; False after ``timeout``."""
        with self._turn_asked:
            return self._turn_asked.wait_for(lambda: self._highest_turn_asked >= turn, timeout)

    def model_calls(self) -> list[tuple[ModuleType, dict]]:
        """(wire, body) of each model call that carried a JSON body, in order."""
        with self._lock:
            requests = list(self.requests)
        return [(_wire(r.method, r.path), r.body) for r in requests
                if isinstance(r.body, dict) and _wire(r.method, r.path).is_model_call(r.method, r.path)]

    def visible_texts(self) -> list[str]:
        """Each request as text, leaving out the headers that carry the key by design."""
        with self._lock:
            return [_visible_text(r) for r in self.requests]

    def leaked_secrets(self) -> list[str]:
        """Names of secrets whose value appeared in any request's path, body or
        headers, leaving out the headers that carry the model key by design."""
        with self._lock:
            seen = "\n".join(_visible_text(r) for r in self.requests)
            return sorted(n for n, v in self.secrets.items() if v and v in seen)

    def _answer(self, wire: ModuleType, body: dict) -> tuple[int | None, Fault | None, list[dict]]:
        """Pick the answer to a model call: (turn, fault, content blocks).

        Counts the request and uses up the turn and fault it gets.
        """
        with self._lock:
            self._messages += 1
            turn = self._turns if offers_tools(body) else None
            if turn is not None and turn > self._highest_turn_asked:
                self._highest_turn_asked = turn
                self._turn_asked.notify_all()
            fault = next((f for f in self.faults if f.matches(self._messages, turn)), None)
            if fault:
                fault.times -= 1
            if fault and fault.breaks_answer:
                return None, fault, self._blocks(wire, body, turn)
            if turn is not None:
                self._turns += 1
        return turn, fault, self._blocks(wire, body, turn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _served(self, wire: ModuleType, answer: Answer, has_tools: bool) -> None:
        with self._lock:
            self.answered.append((wire, answer.model, dict(answer.usage), has_tools))

    def billed(self) -> dict[str, Any]:
        """What the answers served come to: agent-loop turns and their cost at codeagent's prices,
        each priced as its vendor's."""
        from codeagent.gateway.prices import cost_usd

        with self._lock:
            answered = list(self.answered)
        cost = sum(cost_usd(wire.VENDOR, model, **wire.tokens(usage)) for wire, model, usage, _ in answered)
        return {"turns": sum(1 for *_, tools in answered if tools), "cost_usd": cost}

    def _add_seconds(self, seconds: float) -> None:
        with self._lock:
            self.model_seconds += seconds

    def _blocks(self, wire: ModuleType, body: dict, turn: int | None) -> list[dict]:
        if turn is None:
            return wire.side_blocks(body, SIDE_TEXT)
        if turn >= len(self.script):
            return [{"type": "text", "text": FINAL_TEXT}]
        return [_substitute(b, self.substitutions) for b in self.script[turn]]


def _wire(method: str, path: str, headers: dict[str, str] | None = None) -> ModuleType:
    """The API a request's path belongs to (Anthropic's for paths none serves, which get its 404)."""
    return next((wire for wire in WIRES if wire.serves(method, path, headers or {})), anthropic_wire)


def offers_tools(body: Any) -> bool:
    """A turn of the agent loop: it offers tools (Codex's code-mode models offer theirs in an
    ``additional_tools`` input item)."""
    return isinstance(body, dict) and (bool(body.get("tools")) or bool(openai_wire.additional_tools(body)))


def _visible_text(request: RecordedRequest) -> str:
    headers = [v for k, v in request.headers.items() if k.lower() not in AUTH_HEADERS]
    # The body is searched raw and as parsed, so JSON escapes cannot hide a value.
    parsed = json.dumps(request.body, ensure_ascii=False)
    return "\n".join([request.path, *headers, parsed, request.raw])


def _substitute(value: Any, substitutions: dict[str, str]) -> Any:
    """``value`` with each placeholder (``{workspace}``, ...) replaced in every string, recursively."""
    if isinstance(value, str):
        for placeholder, text in substitutions.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, list):
        return [_substitute(v, substitutions) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, substitutions) for k, v in value.items()}
    return value


class _Handler(BaseHTTPRequestHandler):
    """Answers one HTTP request on behalf of ``self.server.model``."""

    protocol_version = "HTTP/1.1"
    # The answer's headers and body are two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK, 40 ms an answer on loopback, which the servers it stands for do not add.
    disable_nagle_algorithm = True

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
        wire = _wire(self.command, self.path, dict(self.headers))
        turn, respond = self._route(wire, parsed if isinstance(parsed, dict) else {})
        # Kept before answering, so a client holding its answer finds its request.
        self.server.model._record(RecordedRequest(
            self.command, self.path, dict(self.headers), parsed, offers_tools(parsed), turn, raw, wire.VENDOR))
        try:
            respond()
        finally:
            self.server.model._add_seconds(time.monotonic() - started)

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def _route(self, wire: ModuleType, body: dict) -> tuple[int | None, Callable[[], None]]:
        """The script turn this request gets, if any, and how to answer it."""
        path, model = endpoint(self.path), self.server.model
        if model.api_key is not None and wire.serves(self.command, self.path, dict(self.headers)) and \
                not wire.authorized(dict(self.headers), self.path, model.api_key, model.oauth):
            return None, partial(self._send_json, *wire.bad_key())
        if wire.is_model_call(self.command, self.path):
            turn, fault, blocks = model._answer(wire, body)
            return turn, partial(self._send_answer, wire, body, fault, blocks)
        known = wire.other(self.command, self.path, body)
        if known is not None:
            return None, partial(self._send_json, *known)
        if self.command in ("GET", "HEAD") and path in ("", "/api/hello"):
            # HEAD /api/hello is the CLI's connectivity probe (sent unless
            # CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is set).
            return None, partial(self._send_json, 200, {"status": "ok"})
        log.warning("model server: unknown request %s %s", self.command, self.path)
        text = f"Not found: {self.command} {self.path}"
        return None, partial(self._send_json, 404, wire.error_body(404, text))

    def _send_answer(self, wire: ModuleType, body: dict, fault: Fault | None, blocks: list[dict]) -> None:
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            self._send_json(fault.status, wire.error_body(fault.status, fault.message), headers)
            return
        broken = bool(fault and fault.stream_error)
        answer = wire.respond(self.path, body, blocks, broken=broken)
        if not broken:
            self.server.model._served(wire, answer, offers_tools(body))
        if answer.content_type == "application/json":
            self._send_json(200, json.loads(answer.chunks[0]))
        else:
            self._send_stream(answer.chunks)

    def _send_json(self, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"content-type": "application/json",
                            "request-id": anthropic_wire.new_id("req_"), **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_stream(self, chunks: list[bytes]) -> None:
        # No length is known up front for a stream: the body ends when the
        # connection closes, as HTTP/1.1 allows.
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", anthropic_wire.new_id("req_"))
        self.send_header("connection", "close")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return None
