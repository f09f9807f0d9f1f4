"""The gateway: the sandbox's only way out, a unix socket served by the action (which holds the keys).

One socket, three kinds of request, told apart by their request line:

* origin-form (``POST /v1/messages``): a model call, passed to the model API the workflow
  configured with the real credential put on it, its answer read for usage (`model_calls`);
* ``CONNECT host:443``: an HTTPS tunnel, when the egress policy allows the host (`proxy`);
* absolute-form (``GET http://host/path``): a plain HTTP request, under the same policy.

Inside the sandbox a forwarder exposes the socket as ``127.0.0.1:PORT``, which is both the
model's base URL and ``HTTPS_PROXY``; every other connection fails at once (no network).
How a connection's bytes move is `connection`'s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socketserver
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from codeagent.gateway.connection import Connection
from codeagent.gateway.egress import EgressPolicy
from codeagent.gateway.ledger import BUDGET_REFUSAL, TURNS_REFUSAL, Ledger
from codeagent.gateway.model_calls import MAX_REQUEST_BYTES, ModelCalls, Upstream
from codeagent.gateway.proxy import EgressProxy

__all__ = ["BUDGET_REFUSAL", "MAX_CONCURRENT_REQUESTS", "MAX_CONNECTIONS", "MAX_REQUEST_BYTES", "TURNS_REFUSAL",
           "Gateway", "GatewayServer", "Upstream"]

M_MMAP_THRESHOLD = -3
"""mallopt's parameter (glibc's malloc.h)."""
MAX_CONCURRENT_REQUESTS = 8
"""Requests with a body (model calls, plain HTTP) served at once; more wait for a slot. This bounds a
hostile agent's parallel model calls (and the threads the gateway runs for them). Agent CLIs make one
at a time, beside the odd side call or sub-agent."""
MAX_CONNECTIONS = 64
"""Connections from the sandbox served at once, each on a thread of its own (a CONNECT tunnel on two); one
past it is answered 503 and closed. Agent CLIs keep a few open; package managers a dozen or so."""
_BUSY = b"codeagent gateway: too many connections at once; close one first.\n"
TOO_MANY_CONNECTIONS = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY))
MAX_BODY_BYTES_HELD = 2 * MAX_REQUEST_BYTES
"""The most request bodies the gateway holds in memory at once, as their sizes are declared; a request
whose body would pass it waits until requests before it are done. A conversation's body is a few
hundred kB to a few MB; two of the largest the APIs take fit at once."""


class Gateway:
    """Serves the socket at ``socket_path`` from background threads until `stop`."""

    def __init__(self, socket_path: Path, upstream: Upstream, policy: EgressPolicy, ledger: Ledger,
                 on_blocked: Callable[[str, str], None] = lambda host, why: None) -> None:
        self.socket_path = Path(socket_path)
        self.upstream = upstream
        self.ledger = ledger
        self.model_calls = ModelCalls(upstream, ledger, vendor_side_tools=policy.mode == "open",
                                      on_blocked=on_blocked)
        self.proxy = EgressProxy(policy, ledger, on_blocked)
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_REQUESTS)
        self._body_bytes = Allowance(MAX_BODY_BYTES_HELD)
        self._server: GatewayServer | None = None

    @property
    def policy(self) -> EgressPolicy:
        return self.proxy.policy

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        _map_large_blocks_apart()
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._server = GatewayServer(str(self.socket_path), Connection)
        self._server.gateway = self
        # The agent runs as the checkout's owner, not as root: it must be able to connect.
        os.chmod(self.socket_path, 0o666)
        # `stop` waits for the serving loop's next look at its flag: at most one poll, at the run's end.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         name="codeagent-gateway", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    def serve(self, request: Connection) -> None:
        """One request from the sandbox, by its request line."""
        if request.command == "CONNECT":
            self.proxy.tunnel(request)  # streams: holds no more than a chunk in memory
            return
        with self._slots, self._body_bytes.held(request.declared_body_size(MAX_REQUEST_BYTES)):
            if request.path.startswith(("http://", "https://")):
                self.proxy.forward_plain_http(request)
            else:
                self.model_calls.serve(request)


def _map_large_blocks_apart() -> None:
    """Have glibc's malloc give each large block (a request body, its text) pages of its own, returned
    when it is freed. By default the threshold for that rises to the largest block freed (up to 32 MB),
    and bodies then come from per-thread arenas that keep the memory: measured, 16 model calls of 31 MB
    left the gateway at 820 MB after they ended (150 MB at the peak, 25 MB after, with this)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc (musl maps large blocks apart anyway)


class Allowance:
    """So many units (bytes) to share: each holder waits until its share is free."""

    def __init__(self, total: int) -> None:
        self._free = total
        self._changed = threading.Condition()

    @contextmanager
    def held(self, share: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._free >= share)
            self._free -= share
        try:
            yield
        finally:
            with self._changed:
                self._free += share
                self._changed.notify_all()


class GatewayServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    gateway: Gateway
    connections: threading.BoundedSemaphore
    """The connections being served, as far as `MAX_CONNECTIONS`."""

    def __init__(self, *args, **kwargs) -> None:
        self.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        """Serve a connection on a thread of its own, if fewer than `MAX_CONNECTIONS` are; else refuse it."""
        if not self.connections.acquire(blocking=False):
            try:
                request.sendall(TOO_MANY_CONNECTIONS)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (the agent was stopped mid-answer) is not worth a traceback in the log."""
