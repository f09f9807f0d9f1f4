"""Model calls: the sandbox's requests in origin-form (``POST /v1/messages``), passed to the model API.

Each one is checked before it goes: only the paths an agent needs, a body no larger than the
APIs take, the limits of the run (`ledger`: the budget, `max-turns`, all model calls); the real
credential is put on it, and its answer read for usage as it streams back (`vendors`).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from codeagent.gateway.connection import HOP_BY_HOP, Connection
from codeagent.gateway.ledger import Ledger, LimitReached, Reservation
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

    def __init__(self, upstream: Upstream, ledger: Ledger) -> None:
        self.upstream = upstream
        self.ledger = ledger
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
        elif vendor.is_model_call(method, path):
            self._serve_model_call(request, body)
        else:  # token counting, the model list: free, not metered
            self._forward(request, body, None)

    def _serve_model_call(self, request: Connection, body: bytes) -> None:
        vendor = self.upstream.vendor
        call = self._read(request.path, body)
        if call is None:
            request.answer(413, vendor.refusal(413, TOO_MANY_VALUES))
            return
        try:
            reservation = self.ledger.admit(call.turn, vendor.worst_input_cost(call))
        except LimitReached as refusal:
            request.answer(400, vendor.refusal(400, str(refusal)))
            return
        self._forward_metered(request, body, call, reservation)

    def _read(self, path: str, body: bytes) -> ModelCall | None:
        """What the call's body says of it; None when it holds too many values to read."""
        if body.count(b",") + body.count(b"[") + body.count(b"{") > MAX_JSON_VALUES:
            return None
        with self._reading:
            document = _json(body)
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


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, RecursionError):
        return None
