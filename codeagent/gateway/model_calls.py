"""Model calls: the sandbox's requests in origin-form (``POST /v1/messages``), passed to the model API.

Each one is checked before it goes: only the paths an agent needs, a body no larger than the
APIs take, no tool the model API would run itself unless the run's network is open and no field that
bills what the gateway cannot see (`call_body`), the limits of the run (`ledger`: the budget,
`max-turns`, all model calls); the real credential is put on it, and its answer read for usage as it
streams back (`vendors`).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from codeagent.gateway.connection import HOP_BY_HOP, Connection
from codeagent.gateway.ledger import API_TOOL, Ledger, LimitReached, Reservation
from codeagent.gateway.vendors import CREDENTIAL_HEADERS, Meter, ModelCall, Vendor

MAX_REQUEST_BYTES = 32 * 1024 * 1024
"""Largest request body passed on: the model APIs' own limit (Anthropic's Messages and token counting
API: 32 MB, https://docs.anthropic.com/en/api/overview#request-size-limits)."""
MAX_JSON_VALUES = 1_000_000
"""Most JSON values (counted as commas and opening brackets) a model call's body may hold to be read.
Reading one costs up to ~80 bytes of memory per value: a 32 MB body of ``[[],[],...`` is 11 million of
them, 800 MB; a real conversation has a few thousand, and a million is past any model's context."""
TOO_LARGE = (f"codeagent gateway: the request body is larger than {MAX_REQUEST_BYTES // 2**20} MB, the model APIs' "
             "own limit; it is not passed on")
DUPLICATE_KEYS = ("codeagent gateway: the request body names a key twice in one object; the model API might read "
                  "the other one than the gateway does, so it is not passed on")
TOO_MANY_VALUES = (f"codeagent gateway: the request body holds more than {MAX_JSON_VALUES:,} JSON values, more than "
                   "any model's context; it is not passed on")


@dataclass(frozen=True)
class Upstream:
    """The model API: where model calls go, and the credential that goes with them."""

    vendor: Vendor
    base_url: str
    secret: str
    oauth: bool = False
    """The secret is a subscription (OAuth) token, sent as a bearer token (Claude Code's Pro/Max)."""

    def request_headers(self, sent: dict[str, str]) -> dict[str, str]:
        """The headers of a model call as the sandbox ``sent`` them, with no credential but ours."""
        headers = {k: v for k, v in sent.items() if k.lower() not in HOP_BY_HOP | CREDENTIAL_HEADERS}
        if self.oauth:  # a subscription token needs the OAuth beta, beside any other beta asked for
            betas = [v for k, v in headers.items() if k.lower() == "anthropic-beta"]
            headers = {k: v for k, v in headers.items() if k.lower() != "anthropic-beta"}
            headers["anthropic-beta"] = ",".join([*betas, "oauth-2025-04-20"])
        return {**headers, **self.vendor.credential(self.secret, self.oauth), "Accept-Encoding": "identity"}


class ModelCalls:
    """Serves the model calls of one run, against its ledger."""

    def __init__(self, upstream: Upstream, ledger: Ledger, vendor_side_tools: bool = False,
                 on_blocked: Callable[[str, str], None] = lambda name, why: None) -> None:
        self.upstream = upstream
        self.ledger = ledger
        self.vendor_side_tools = vendor_side_tools
        """Tools the model API runs itself may pass (the run's network is `open`): they reach any host."""
        self.on_blocked = on_blocked
        self._tls = ssl.create_default_context()  # once: building it costs more than a request
        self._reading = threading.Lock()
        """One body parsed at a time: what parsing holds in memory is one body's worth."""

    def serve(self, request: Connection) -> None:
        vendor, method, path = self.upstream.vendor, request.command, request.path
        body = request.read_body(MAX_REQUEST_BYTES)
        if body is None:
            request.answer(413, vendor.refusal(413, TOO_LARGE))
        elif method in ("GET", "HEAD") and path.split("?")[0] in ("/", "/api/hello"):
            request.answer(200, b'{"status":"ok"}')  # a CLI's connectivity probe: nothing to pass on
        elif not vendor.allows(method, path):
            self.ledger.refuse_path(method, path)
            request.answer(404, vendor.refusal(404, f"codeagent gateway: {method} {path.split('?')[0]} is not "
                                                    "a model call an agent needs, so it is not passed on"))
        elif method != "POST":  # the model list
            self._forward(request, body, None)
        else:  # a model call, or token counting (free, not metered; Anthropic's takes mcp_servers too)
            self._serve_call(request, body, metered=vendor.is_model_call(method, path))

    def _serve_call(self, request: Connection, body: bytes, metered: bool) -> None:
        vendor = self.upstream.vendor
        call = self._read(request.path, body)
        if call is None:
            request.answer(413, vendor.refusal(413, TOO_MANY_VALUES))
            return
        if isinstance(call, DuplicateKeys):
            request.answer(400, vendor.refusal(400, DUPLICATE_KEYS))
        elif not call.readable:
            request.answer(400, vendor.refusal(400, UNREADABLE))
        elif refusal := self._refusal(call):
            request.answer(400, vendor.refusal(400, refusal))
        elif not metered:
            self._forward(request, body, None)
        else:
            self._admit(request, body, call)

    def _admit(self, request: Connection, body: bytes, call: ModelCall) -> None:
        """Pass ``call`` on if the ledger admits it (the budget, the limits), metered."""
        vendor = self.upstream.vendor
        try:
            reservation = self.ledger.admit(call.turn, vendor.worst_cost(call))
        except LimitReached as limit:
            request.answer(400, vendor.refusal(400, str(limit)))
            return
        self._forward_metered(request, body, call, reservation)

    def _refusal(self, call: ModelCall) -> str:
        """Why ``call`` may not go, in words for the agent's CLI (and, for a tool, the run's report); "" if it may."""
        vendor = self.upstream.vendor.name
        if call.unseen_fields:
            return (f"codeagent gateway: `{call.unseen_fields[0]}` bills what the gateway cannot see, so the "
                    "budget could not hold it; the call is not passed on")
        if call.vendor_side_tools and not self.vendor_side_tools:
            tool = call.vendor_side_tools[0]
            why = (f"the {vendor} API's own tool `{tool}` reaches the network from the vendor's side, which the "
                   "sandbox may not (only with `network: open`)")
            self.ledger.block(f"{tool} ({vendor}{API_TOOL}")
            self.on_blocked(tool, why)
            return f"codeagent gateway: blocked: {why}; the call is not passed on"
        return ""

    def _read(self, path: str, body: bytes) -> ModelCall | DuplicateKeys | None:
        """What the call's body says of it; None when it holds too many values to read."""
        if body.count(b",") + body.count(b"[") + body.count(b"{") > MAX_JSON_VALUES:
            return None
        with self._reading:
            try:
                document = _json(body)
            except DuplicateKeys as duplicate:
                return duplicate
            return self.upstream.vendor.describe(path, document, len(body))

    def _forward_metered(self, request: Connection, body: bytes, call: ModelCall, reservation: Reservation) -> None:
        vendor = self.upstream.vendor
        meter = vendor.meter(call.model)
        try:
            status = self._forward(request, body, meter)
        except BaseException:
            self.ledger.release(reservation)
            raise
        metered = meter.finish()
        self.ledger.record(metered, vendor.cost(metered), reservation, billed=200 <= status < 300)

    def _forward(self, request: Connection, body: bytes, meter: Meter | None) -> int:
        """Pass the call on and its answer back; the answer's status (502 when there was none)."""
        base = urlsplit(self.upstream.base_url)
        path = base.path.rstrip("/") + self.upstream.vendor.clean_path(request.path)
        headers = self.upstream.request_headers(dict(request.headers.items()))
        try:
            connection = request.upstream_connection(base.scheme, base.hostname or "", base.port, self._tls)
            connection.request(request.command, path, body=body, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            request.drop_upstream()
            request.answer(502, self.upstream.vendor.refusal(502, f"codeagent gateway: cannot reach the model API "
                                                                  f"at {base.scheme}://{base.netloc}: {error}"))
            return 502
        try:
            request.relay(response, meter)
        except OSError:
            request.close_connection = True  # the upstream broke off mid-answer: what was metered is counted
        return response.status


class DuplicateKeys(Exception):
    """A JSON object names a key twice: parsers differ on which one counts (Python's: the last)."""


UNREADABLE = ("codeagent gateway: the body is not a JSON object the gateway can read, so it cannot be checked; "
              "the call is not passed on")
"""A body the vendor's parser might read where ours cannot (bytes that are not UTF-8, nesting too deep)."""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, object_pairs_hook=_object) if body else None
    except (ValueError, RecursionError):
        return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKeys()
    return document
