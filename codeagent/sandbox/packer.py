"""The packer's container, as the action runs it (what runs inside: `codeagent.sandbox.pack`).

A container's start is a quarter of a second of every run. So the packer is started while the
agent still works (`EarlyPacker`), gets ready (its own repository, from the index the action
wrote before the agent ran) and waits on a FIFO in its output directory. It reads the checkout
only once the action says ``go`` there, after the agent's last command has ended; anything else,
or no word within its wait, and it ends without reading. The action holds the FIFO open for
reading and writing, so saying ``go`` never blocks on a packer that is gone.

A packer started early that is not told ``go`` (the run ended before packing, or packs other
arguments) is removed; one that ends without a manifest is replaced by a packer started then.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from codeagent.changes import Caps
from codeagent.checkout import AGENT_OBJECTS
from codeagent.sandbox.engine import ContainerSpec, Limits, Mount, SandboxExit, Started

PACKER_OUT = "/codeagent/out"
PACKER_CHECKOUT = "/codeagent/checkout"
PACKER_INDEX = "/codeagent/index"
EXCLUDES = "/opt/codeagent/codeagent/sandbox/never-commit.gitignore"
"""Build litter never committed, as the action image holds it."""
GO = ".go"
"""The FIFO in the output directory a packer started early waits on."""
WAIT_S = 6 * 3600
"""The longest a packer started early waits for its word (a GitHub-hosted job's longest run)."""


@dataclass(frozen=True)
class PackRequest:
    """What to pack: the agent's change on top of ``base``, made since ``since``, within ``caps``."""

    base: str
    since: float
    caps: Caps


@dataclass(frozen=True)
class PackerPlace:
    """Where the packer reads and writes, as the action sees it, and how it runs."""

    image: str
    user: str
    checkout: Path
    index: Path
    objects: Path
    out: Path
    cpus: float
    labels: dict[str, str]
    masked: tuple[str, ...]


def packer_spec(place: PackerPlace, request: PackRequest, early: bool) -> ContainerSpec:
    """The packer's container; ``early``: it waits for ``go`` on `GO` before it reads the checkout."""
    command = ["/opt/codeagent/venv/bin/python", "-m", "codeagent.sandbox.pack", "--base", request.base,
               "--workspace", PACKER_CHECKOUT, "--objects", AGENT_OBJECTS, "--out", PACKER_OUT,
               "--index", PACKER_INDEX, "--excludes", EXCLUDES,
               "--max-file-bytes", str(request.caps.max_file_bytes),
               "--max-total-bytes", str(request.caps.max_total_bytes), "--since", f"{request.since:.3f}",
               *(["--go", f"{PACKER_OUT}/{GO}", "--wait-s", str(WAIT_S)] if early else [])]
    return ContainerSpec(
        image=place.image, command=command, user=place.user, workdir=PACKER_OUT,
        env={"PYTHONPATH": "/opt/codeagent", "PYTHONDONTWRITEBYTECODE": "1"},
        # The checkout without its `.git` (its config holds the token actions/checkout persisted);
        # only the index, for its stat data, read-only.
        mounts=(Mount(str(place.checkout), PACKER_CHECKOUT, read_only=True),
                Mount(str(place.index), PACKER_INDEX, read_only=True),
                Mount(str(place.objects), AGENT_OBJECTS, read_only=True),
                Mount(str(place.out), PACKER_OUT)),
        masked=place.masked,
        limits=Limits(memory="2g", cpus=place.cpus, pids=256, tmp_size="256m", timeout_s=900),
        labels=place.labels, role="packer")


class EarlyPacker:
    """A packer being started in the background for ``request``, its output directory ``out`` ready."""

    def __init__(self, start: Callable[[], Started], request: PackRequest, out: Path, owner: tuple[int, int]) -> None:
        self.request, self._fifo = request, out / GO
        os.mkfifo(self._fifo, 0o600)
        os.chown(self._fifo, *owner)  # the packer runs as the checkout's owner
        self._started: Started | None = None
        self._thread = threading.Thread(target=self._start, args=(start,), name="codeagent-packer", daemon=True)
        self._thread.start()

    def _start(self, start: Callable[[], Started]) -> None:
        try:
            self._started = start()
        except Exception:  # noqa: BLE001 (not started: `pack` starts one then, and says what fails)
            self._started = None

    def finish(self, request: PackRequest, on_line: Callable[[str], None]) -> SandboxExit | None:
        """Say ``go`` and read the packer to its end, if it was started for ``request``; None when it was
        not (it is then removed)."""
        self._thread.join()
        started, self._started = self._started, None
        if started is None or request != self.request:
            if started is not None:
                started.discard()
            return None
        end = os.open(self._fifo, os.O_RDWR)
        try:
            os.write(end, b"go\n")
            return started.finish(on_line)
        finally:
            os.close(end)

    def discard(self) -> None:
        self._thread.join()
        started, self._started = self._started, None
        if started is not None:
            started.discard()
