"""The gateway: the sandbox's only way out, a unix socket served by the action (which holds the keys).

One socket, three kinds of request, told apart by their request line:

* origin-form (``POST /v1/messages``): a model call, passed to the model API the workflow
  configured with the real credential put on it, its answer read for usage (`vendors`, `ledger`);
* ``CONNECT host:443``: an HTTPS tunnel, when the egress policy allows the host (`egress`);
* absolute-form (``GET http://host/path``): a plain HTTP request, under the same policy.

Inside the sandbox a forwarder exposes the socket as ``127.0.0.1:PORT``, which is both the
model's base URL and ``HTTPS_PROXY``; every other connection fails at once (no network).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from codeagent.gateway.egress import EgressPolicy, Refused
from codeagent.gateway.ledger import Ledger
from codeagent.gateway.vendors import CREDENTIAL_HEADERS, Vendor

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length", "accept-encoding"})
MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""Largest request body passed on (a model call carries the whole conversation)."""
UPSTREAM_TIMEOUT_S = 600.0
CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 900.0
"""How long a connection from the sandbox may sit idle between requests."""
CHUNK = 64 * 1024
BUDGET_REFUSAL = "codeagent: the budget (max-cost-usd) is reached; no further model calls are made in this run"
"""The message of the 400 a model call past the budget gets, in the vendor's error shape: every agent CLI
stops at once on a 400 (a 429 or a 5xx it would retry)."""
TURNS_REFUSAL = "codeagent: the turn limit (max-turns) is reached; no further turns are taken in this run"
"""The same for a turn of the agent's loop past `max-turns` (side requests still pass)."""


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


class Gateway:
    """Serves the socket at ``socket_path`` from background threads until `stop`."""

    def __init__(self, socket_path: Path, upstream: Upstream, policy: EgressPolicy, ledger: Ledger,
                 on_blocked: Callable[[str, str], None] = lambda host, why: None) -> None:
        self.socket_path = Path(socket_path)
        self.upstream = upstream
        self.policy = policy
        self.ledger = ledger
        self.on_blocked = on_blocked
        self._tls = ssl.create_default_context()  # once: building it costs more than a request
        self._server: _Server | None = None

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._server = _Server(str(self.socket_path), _Handler)
        self._server.gateway = self
        # The agent runs as the checkout's owner, not as root: it must be able to connect.
        os.chmod(self.socket_path, 0o666)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="codeagent-gateway", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    # -- model calls --

    def serve_model_call(self, request: _Handler) -> None:
        vendor, method, path = self.upstream.vendor, request.command, request.path
        body = request.read_body()
        if body is None:
            return
        if method in ("GET", "HEAD") and path.split("?")[0] in ("/", "/api/hello"):
            request.answer(200, b'{"status":"ok"}')  # a CLI's connectivity probe: nothing to pass on
            return
        if not vendor.allows(method, path):
            self.ledger.refuse_path(method, path)
            request.answer(404, vendor.refusal(404, f"codeagent gateway: {method} {path.split('?')[0]} is not "
                                                    "a model call an agent needs, so it is not passed on"))
            return
        document = _json(body)
        model_call = vendor.is_model_call(method, path)
        if model_call and self.ledger.over_budget():
            self.ledger.refuse_over_budget()
            request.answer(400, vendor.refusal(400, BUDGET_REFUSAL))
            return
        turn = model_call and vendor.is_agent_turn(document)
        if turn and not self.ledger.take_turn():
            request.answer(400, vendor.refusal(400, TURNS_REFUSAL))
            return
        meter = vendor.meter(vendor.model_of(path, document)) if model_call else None
        try:
            status = self._forward_model_call(request, body, meter)
        except BaseException:
            if turn:
                self.ledger.drop_turn()
            raise
        if meter is not None:
            metered = meter.finish()
            answered = 200 <= status < 300 and not metered.error
            self.ledger.record(metered, vendor.cost(metered), answered and turn, taken=turn)

    def _forward_model_call(self, request: _Handler, body: bytes, meter) -> int:
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

    # -- egress --

    def tunnel(self, request: _Handler) -> None:
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

    def forward_plain_http(self, request: _Handler) -> None:
        """``GET http://host/path``: the request passed on to the checked address."""
        url = urlsplit(request.path)
        if url.scheme != "http" or not url.hostname:
            request.answer(400, b"codeagent gateway: only http:// URLs in absolute form\n", "text/plain")
            return
        destination = self._destination(request, url.hostname, url.port or 80)
        body = request.read_body()
        if destination is None or body is None:
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

    def _destination(self, request: _Handler, host: str, port: int) -> tuple[str, int] | None:
        try:
            return self.policy.destination(host, port)
        except Refused as refusal:
            name = host.strip().rstrip(".").lower()
            self.ledger.block(name)
            self.on_blocked(name, str(refusal))
            request.answer(403, f"codeagent gateway: blocked: {refusal}\n".encode(), "text/plain")
            request.close_connection = True
            return None


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    gateway: Gateway

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (the agent was stopped mid-answer) is not worth a traceback in the log."""


class _Handler(BaseHTTPRequestHandler):
    """One connection from the sandbox; its requests are served in turn (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_TIMEOUT_S
    _upstream: http.client.HTTPConnection | None = None

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if self.close_connection:
            self.drop_upstream()

    def do_CONNECT(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.gateway.tunnel(self)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith(("http://", "https://")):
            self.server.gateway.forward_plain_http(self)
        else:
            self.server.gateway.serve_model_call(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def address_string(self) -> str:
        return "sandbox"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the ledger keeps what matters."""

    def read_body(self) -> bytes | None:
        """The request's body (Content-Length or chunked); None after answering 413 for a huge one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while (length := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)):
                size += length
                if size > MAX_REQUEST_BYTES:
                    self._too_large()
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._too_large()
            return None
        return self.rfile.read(length) if length else b""

    def _too_large(self) -> None:
        self.answer(413, b"codeagent gateway: request body too large\n", "text/plain")
        self.close_connection = True

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def upstream_connection(self, scheme: str, host: str, port: int | None,
                            tls: ssl.SSLContext) -> http.client.HTTPConnection:
        """A connection to the model API, kept for this client connection's next request."""
        if self._upstream is None:
            if scheme == "https":
                self._upstream = http.client.HTTPSConnection(host, port, timeout=UPSTREAM_TIMEOUT_S, context=tls)
            else:
                self._upstream = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT_S)
        return self._upstream

    def drop_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def relay(self, response: http.client.HTTPResponse, meter) -> None:
        """Pass ``response`` on as it streams, feeding ``meter`` on the way."""
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        length = response.getheader("Content-Length")
        chunked = not bodiless and (length is None or response.getheader("Transfer-Encoding"))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not bodiless:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        listening = True
        try:
            while not bodiless and (data := response.read1(CHUNK)):
                if meter is not None:
                    meter.feed(data)
                listening = listening and self._write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                if not listening and meter is None:
                    break  # nothing to count: no need to read the rest
            if chunked and listening:
                self._write(b"0\r\n\r\n")
        finally:
            if response.will_close or not response.isclosed():
                self.drop_upstream()

    def _write(self, data: bytes) -> bool:
        """Send ``data`` to the sandbox; False when it has gone away. A model call's answer is then still
        read to its end, for the meter: the model bills it whether or not the CLI listened to the end."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def pipe(self, upstream: socket.socket) -> None:
        """Copy bytes both ways between the sandbox and ``upstream`` until either side closes."""
        self.close_connection = True
        upstream.settimeout(None)

        def inbound() -> None:
            try:
                while data := self.rfile.read1(CHUNK):
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                _shutdown(upstream, socket.SHUT_WR)

        reader = threading.Thread(target=inbound, daemon=True)
        reader.start()
        try:
            while data := upstream.recv(CHUNK):
                self.connection.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(self.connection, socket.SHUT_WR)
            reader.join(timeout=5)
            upstream.close()


def _shutdown(connection: socket.socket, how: int) -> None:
    try:
        connection.shutdown(how)
    except OSError:
        pass


def _json(body: bytes):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
