"""The sandbox's HTTP(S) proxy: ``CONNECT host:443`` tunnels and absolute-form ``GET http://host/path``
requests, each to an address the egress policy (`codeagent.gateway.egress`) checked."""

from __future__ import annotations

import http.client
import socket
from typing import Callable
from urllib.parse import urlsplit

from codeagent.gateway.connection import HOP_BY_HOP, UPSTREAM_TIMEOUT_S, Connection
from codeagent.gateway.egress import EgressPolicy, Refused
from codeagent.gateway.ledger import Ledger
from codeagent.gateway.model_calls import MAX_REQUEST_BYTES

CONNECT_TIMEOUT_S = 10.0


class EgressProxy:
    """Connects the sandbox to the hosts ``policy`` allows; counts (and reports) the ones it refuses."""

    def __init__(self, policy: EgressPolicy, ledger: Ledger, on_blocked: Callable[[str, str], None]) -> None:
        self.policy = policy
        self.ledger = ledger
        self.on_blocked = on_blocked

    def tunnel(self, request: Connection) -> None:
        """``CONNECT host:port``: a TCP tunnel to the checked address, or a refusal naming the host."""
        host, _, port = request.path.rpartition(":")
        destination = self._destination(request, host.strip("[]"), int(port) if port.isdigit() else 443)
        if destination is None:
            return
        try:
            upstream = socket.create_connection(destination, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            request.answer(502, f"codeagent gateway: cannot connect to {host}: {error}\n".encode(), "text/plain")
            return
        request.send_response(200, "Connection established")
        request.end_headers()
        request.wfile.flush()
        request.pipe(upstream)

    def forward_plain_http(self, request: Connection) -> None:
        """``GET http://host/path``: the request passed on to the checked address."""
        url = urlsplit(request.path)
        if url.scheme != "http" or not url.hostname:
            request.answer(400, b"codeagent gateway: only http:// URLs in absolute form\n", "text/plain")
            return
        destination = self._destination(request, url.hostname, url.port or 80)
        if destination is None:
            return
        body = request.read_body(MAX_REQUEST_BYTES)
        if body is None:
            request.answer(413, b"codeagent gateway: request body too large\n", "text/plain")
            return
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in HOP_BY_HOP and not k.lower().startswith("proxy-")}
        headers["Host"] = url.netloc
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            connection = http.client.HTTPConnection(*destination, timeout=UPSTREAM_TIMEOUT_S)
            connection.request(request.command, path, body=body or None, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            request.answer(502, f"codeagent gateway: {url.hostname}: {error}\n".encode(), "text/plain")
            return
        try:
            request.relay(response, None)
        finally:
            connection.close()

    def _destination(self, request: Connection, host: str, port: int) -> tuple[str, int] | None:
        try:
            return self.policy.destination(host, port)
        except Refused as refusal:
            name = host.strip().rstrip(".").lower()
            self.ledger.block(name)
            self.on_blocked(name, str(refusal))
            request.close_connection = True
            request.answer(403, f"codeagent gateway: blocked: {refusal}\n".encode(), "text/plain")
            return None
