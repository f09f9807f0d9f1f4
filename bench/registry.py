"""A container registry on this machine, for the released path: publish, then pull as a runner does.

Debian's ``docker-registry`` (the distribution registry, installed by scripts/setup-docker) serves
``127.0.0.1:PORT`` from a temporary storage directory; both go away when the context ends. The
Docker engine talks plain HTTP to ``localhost:PORT`` (loopback registries are insecure by default),
so nothing is configured in the engine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY_BINARY = "docker-registry"
CONFIG = """version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


class RegistryError(RuntimeError):
    """The local registry could not be started."""


class LocalRegistry:
    """``with LocalRegistry() as registry:`` a registry at ``registry.host`` (``localhost:PORT``)."""

    def __init__(self, binary: str = REGISTRY_BINARY) -> None:
        self.binary = binary
        self.host = ""
        self.root: Path | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> LocalRegistry:
        if shutil.which(self.binary) is None:
            raise RegistryError(f"`{self.binary}` is not installed: run scripts/setup-docker (it installs Debian's "
                                "docker-registry package)")
        self.root = Path(tempfile.mkdtemp(prefix="codeagent-registry-"))
        storage = self.root / "storage"
        storage.mkdir()
        port = _free_port()
        config = self.root / "config.yml"
        config.write_text(CONFIG.format(storage=storage, port=port))
        log = (self.root / "registry.log").open("wb")
        # Detached like the project's other daemons: own session, no inherited pipes.
        self._process = subprocess.Popen([self.binary, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.host = f"localhost:{port}"
        try:
            self._wait_until_up(port)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                os.killpg(self._process.pid, signal.SIGTERM)
                try:
                    self._process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait()
            self._process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _wait_until_up(self, port: int, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        log = (self.root / "registry.log").read_text(errors="replace")[-2000:] if self.root else ""
        raise RegistryError(f"the local registry did not answer on 127.0.0.1:{port}:\n{log}")

    def repository(self, owner: str, name: str) -> str:
        """``localhost:PORT/owner/name``, lower-cased as registries require."""
        return f"{self.host}/{owner}/{name}".lower()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
