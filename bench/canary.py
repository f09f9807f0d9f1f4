"""A listener on the host's loopback that nothing should ever reach: the proof an egress attack failed.

A hostile scenario (``canary: true``) gets one, and its model script names its port as
``{canary_port}``: the agent tries every way it can think of to connect to it (through the
gateway with odd host forms, directly). Every connection it receives, and the first bytes
of each, end up in the report (``canary``); ``expect: canary_untouched: true`` requires none.
"""

from __future__ import annotations

import socket
import threading

FIRST_BYTES = 2000
"""How much of each connection's data the report keeps (the leak detector reads up to 64 KB)."""


class Canary:
    """A TCP listener on 127.0.0.1 (a free port) recording every connection, from a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.create_server((host, 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.connections: list[dict] = []
        self.received: list[bytes] = []
        """Each connection's data, up to 64 KB, for the leak detector."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, address = self._socket.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._record, args=(client, address), daemon=True).start()

    def _record(self, client: socket.socket, address) -> None:
        entry = {"peer": f"{address[0]}:{address[1]}", "bytes": 0, "first": ""}
        with self._lock:
            self.connections.append(entry)
            index = len(self.received)
            self.received.append(b"")
        client.settimeout(2)
        data = b""
        try:
            while chunk := client.recv(4096):
                data += chunk
                with self._lock:
                    entry["bytes"] += len(chunk)
                    entry["first"] = data[:FIRST_BYTES].decode("utf-8", "replace")
                    self.received[index] = data[:64 * 1024]
                if len(data) > 64 * 1024:
                    break
        except OSError:
            pass
        finally:
            client.close()

    def texts(self) -> list[str]:
        """What every connection sent, as text."""
        with self._lock:
            return [data.decode("utf-8", "replace") for data in self.received]

    def report(self) -> dict:
        with self._lock:
            return {"port": self.port, "connections": [dict(c) for c in self.connections]}
