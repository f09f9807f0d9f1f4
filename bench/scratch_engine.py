"""A Docker engine of its own, empty, for cold measurements (a cold build, a cold pull).

The shared engine has every layer already (build cache, earlier pulls), so a build or a pull there
measures nothing a fresh runner sees. This starts a second ``dockerd`` with its own data and exec
roots and socket, no bridge and no iptables rules (builds use ``--network host``), and stops it
and removes its directories at the end. The shared engine is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class ScratchEngine:
    """``with ScratchEngine() as engine: engine.docker("pull", ref)``."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.env: dict[str, str] = {}
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> ScratchEngine:
        self.root = Path(tempfile.mkdtemp(prefix="codeagent-scratch-engine-", dir="/var/tmp"))
        socket = self.root / "docker.sock"
        log = (self.root / "dockerd.log").open("wb")
        self._process = subprocess.Popen(
            ["dockerd", "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "--pidfile", str(self.root / "dockerd.pid"), "--host", f"unix://{socket}", "--bridge", "none",
             "--iptables=false", "--ip-masq=false", "--ip-forward=false"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{socket}"}
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "info"], env=self.env, capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.__exit__()
                raise RuntimeError("the scratch dockerd did not start")
            time.sleep(0.3)
        return self

    def docker(self, *args: str, stdin=None) -> float:
        """Run ``docker ARGS`` against this engine; the seconds it took."""
        started = time.monotonic()
        subprocess.run(["docker", *args], env=self.env, check=True, stdin=stdin, stdout=subprocess.DEVNULL)
        return time.monotonic() - started

    def load_from_shared(self, image: str) -> None:
        """Copy ``image`` from the shared engine (``docker save | docker load``)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        self.docker("load", "-q", stdin=save.stdout)
        if save.wait() != 0:
            raise RuntimeError(f"docker save {image} failed")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                os.killpg(self._process.pid, signal.SIGTERM)
                try:
                    self._process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait()
            self._process = None
        if self.root is not None:
            # dockerd leaves its default network namespace bind-mounted under the exec root.
            for mount in reversed(_mounts_below(self.root)):
                subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _mounts_below(root: Path) -> list[str]:
    """Mount points at or below ``root``, in the order they were mounted."""
    prefix = str(root) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [point for point in points if point.startswith(prefix)]
