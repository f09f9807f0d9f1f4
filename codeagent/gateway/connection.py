"""One connection from the sandbox, as HTTP/1.1: its requests read, answers and streams written back.

What to do with a request is the gateway's (`codeagent.gateway.server`); this module only moves
bytes, and never more of them into memory than a limit allows.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from codeagent.gateway.vendors import Meter

if TYPE_CHECKING:
    from codeagent.gateway.server import GatewayServer

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length", "accept-encoding"})
UPSTREAM_TIMEOUT_S = 600.0
IDLE_TIMEOUT_S = 900.0
"""How long a connection from the sandbox may sit idle between requests."""
CHUNK = 64 * 1024
LINGER_S = 2.0
"""How long the rest of a refused body is read (and dropped) after the refusal: closing a socket with
unread data resets it, and the client would lose the refusal."""


class Connection(BaseHTTPRequestHandler):
    """One connection from the sandbox; its requests are served in turn (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: GatewayServer
    timeout = IDLE_TIMEOUT_S
    _upstream: http.client.HTTPConnection | None = None
    _unread_body = False

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if self.close_connection:
            self.drop_upstream()
        if self._unread_body:
            self._linger()

    def _linger(self) -> None:
        """Drop what the client still sends of a refused body, for a while, so it reads the refusal."""
        _shutdown(self.connection, socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_S
        try:
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(CHUNK):
                    return
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.gateway.serve(self)

    do_CONNECT = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def address_string(self) -> str:
        return "sandbox"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the ledger keeps what matters."""

    def declared_body_size(self, limit: int) -> int:
        """The size the request says its body has, as far as ``limit`` (chunked: ``limit``, unknown ahead)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return limit
        length = (self.headers.get("Content-Length") or "0").strip()
        return min(int(length), limit) if length.isdigit() else 0

    def read_body(self, limit: int) -> bytes | None:
        """The request's body (Content-Length or chunked); None when it is longer than ``limit`` bytes or its
        length is not one: what was not read is left unread, and the connection is to be closed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks(limit)
        length = (self.headers.get("Content-Length") or "0").strip()
        if not length.isdigit() or int(length) > limit:  # "-1" would read to the end of the stream
            self.close_connection = self._unread_body = True
            return None
        return self.rfile.read(int(length)) if int(length) else b""

    def _read_chunks(self, limit: int) -> bytes | None:
        chunks, size = [], 0
        while (length := int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)):
            size += length
            if length < 0 or size > limit:
                self.close_connection = self._unread_body = True
                return None
            chunks.append(self.rfile.read(length))
            self.rfile.readline(64)
        while self.rfile.readline(CHUNK) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
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

    def relay(self, response: http.client.HTTPResponse, meter: Meter | None) -> None:
        """Pass ``response`` on as it streams, feeding ``meter`` on the way."""
        bodiless = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        chunked = self._relay_head(response, bodiless)
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

    def _relay_head(self, response: http.client.HTTPResponse, bodiless: bool) -> bool:
        """The status line and headers of ``response``; whether its body goes on chunked."""
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        length = response.getheader("Content-Length")
        chunked = not bodiless and (length is None or bool(response.getheader("Transfer-Encoding")))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not bodiless:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        return chunked

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
