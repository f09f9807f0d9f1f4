"""The packer's container, as the action runs it (what runs inside: `codeagent.sandbox.pack`).

A container's start is a quarter of a second of every run. So the packer is started while the
agent still works (`EarlyPacker`), gets ready (its own repository, from the index the action
wrote before the agent ran) and waits on a FIFO in its output directory, which no other
container sees. It reads the checkout only once the action says ``go`` there, after the agent's
last container has ended; anything else, or no word within its wait, and it ends unread. The
action holds the FIFO open, for reading and writing, from before the packer starts: saying ``go``
never blocks on a packer that is gone, and when the action is gone (killed outright) the packer
reads the FIFO's end and ends unread.

`packed_early` takes its pack, or says why not: one started for other arguments, or not needed,
is removed; one that could not start, failed or ended without a manifest is replaced by a packer
started then; one that met its time or memory limit fails the pack, as another would.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from codeagent.changes import Caps
from codeagent.checkout import AGENT_OBJECTS
from codeagent.errors import SandboxError
from codeagent.sandbox.engine import ContainerSpec, Limits, Mount, SandboxExit, Started

PACKER_OUT = "/codeagent/out"
PACKER_CHECKOUT = "/codeagent/checkout"
PACKER_INDEX = "/codeagent/index"
EXCLUDES = "/opt/codeagent/codeagent/sandbox/never-commit.gitignore"
"""Build litter never committed, as the action image holds it."""
GO = ".go"
"""The FIFO in the output directory a packer started early waits on."""
WAIT_S = 6 * 3600
"""How long a packer started early waits for its word beyond its agent's time limits (a GitHub-hosted job's
longest run); past it, it ends unread and `pack` starts another."""


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


def packer_spec(place: PackerPlace, request: PackRequest, wait_s: int = 0) -> ContainerSpec:
    """The packer's container; with ``wait_s``, started early: it waits that long at most for ``go`` on `GO`
    before it reads the checkout."""
    command = ["/opt/codeagent/venv/bin/python", "-m", "codeagent.sandbox.pack", "--base", request.base,
               "--workspace", PACKER_CHECKOUT, "--objects", AGENT_OBJECTS, "--out", PACKER_OUT,
               "--index", PACKER_INDEX, "--excludes", EXCLUDES,
               "--max-file-bytes", str(request.caps.max_file_bytes),
               "--max-total-bytes", str(request.caps.max_total_bytes), "--since", f"{request.since:.3f}",
               *(["--go", f"{PACKER_OUT}/{GO}", "--wait-s", str(wait_s)] if wait_s else [])]
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
    """A packer being started in the background for ``request``, its output directory ``out`` ready.

    `finish` hands it over; whatever happens to it, the caller then calls `discard` (which removes
    a packer not handed over, and waits for the background start to end first)."""

    def __init__(self, start: Callable[[], Started], request: PackRequest, out: Path, owner: tuple[int, int]) -> None:
        self.request, self._fifo = request, out / GO
        os.mkfifo(self._fifo, 0o600)
        os.chown(self._fifo, *owner)  # the packer runs as the checkout's owner
        # Held open, for reading and writing, until the hand-over: saying `go` never blocks, and the action's
        # end is the FIFO's only writer, so when the action is gone (killed outright) the packer reads the
        # FIFO's end and ends unread, tied to the action like the sandbox's forwarder.
        self._end = os.open(self._fifo, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
        self._started: Started | None = None
        self.error = ""
        """Why the packer could not be started ("" when it was, or is being started)."""
        self._thread = threading.Thread(target=self._start, args=(start,), name="codeagent-packer", daemon=True)
        self._thread.start()

    def _start(self, start: Callable[[], Started]) -> None:
        try:
            self._started = start()
        except Exception as error:  # noqa: BLE001 (said by `pack`, which starts one then)
            self.error = str(error) or type(error).__name__

    def finish(self, request: PackRequest, on_line: Callable[[str], None]) -> SandboxExit | None:
        """Say ``go`` and read the packer to its end, if it was started for ``request``; None when it was not."""
        self._thread.join()
        started = self._started
        if started is None or request != self.request:
            return None
        self._started = None
        try:
            os.write(self._end, b"go\n")
            return started.finish(on_line)  # removes the container whatever happens
        except BaseException:
            started.discard()
            raise
        finally:
            self._let_go()

    def discard(self) -> None:
        """Remove the packer if it was not handed over (after its background start has ended); a packer
        still waiting reads the FIFO's end first."""
        self._let_go()
        self._thread.join()
        started, self._started = self._started, None
        if started is not None:
            started.discard()

    def _let_go(self) -> None:
        if self._end >= 0:
            os.close(self._end)
            self._end = -1


def packed_early(early: EarlyPacker, request: PackRequest, out: Path, warn: Callable[[str], None]) -> bool:
    """Whether the packer started early packed into ``out``; False to start another. A limit it met (its time,
    its memory) is the change's, and raised: another packer would meet it too."""
    lines: deque[str] = deque(maxlen=20)
    try:
        exit_ = early.finish(request, lines.append)
    except (SandboxError, OSError) as error:
        warn(f"the packer started early failed ({error}); packing again")
        return False
    finally:
        early.discard()
    if exit_ is None:
        if early.error:
            warn(f"the packer could not be started early ({early.error}); packing now")
        return False
    if exit_.timed_out or exit_.oom_killed:
        check_packed(exit_, lines)
    if exit_.exit_code == 0 and (out / "manifest.json").is_file():
        return True
    tail = "; ".join([*exit_.stderr_tail[-3:], *lines][-3:])
    warn(f"the packer started early did not pack (exit code {exit_.exit_code}{': ' + tail if tail else ''}); "
         "packing again")
    return False


def check_packed(exit_: SandboxExit, lines: deque[str]) -> None:
    """A packer that failed: what it said, and that the files are still in the checkout."""
    if exit_.exit_code != 0:
        why = "; ".join([*exit_.stderr_tail[-5:], *lines][-5:]) or f"exit code {exit_.exit_code}"
        raise SandboxError(f"the agent's change could not be gathered ({why}). Its files are still in the "
                           "runner's checkout; re-run the job to try again.")
