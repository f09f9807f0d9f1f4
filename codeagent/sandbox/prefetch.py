"""The released action's sandbox image, pulled in the background from the action's first second.

A released action image is small (Python, git, codeagent) and names its sandbox image, the big
one with the toolchain and the agent CLIs, by digest (``CODEAGENT_SANDBOX_IMAGE``, baked in at
release time). Pulling it takes seconds; started as soon as the action starts, the pull overlaps
the permission check, the reaction, the progress comment and the branch, and the agent waits
for it only if it has not finished. An image built from the Dockerfile names none: the action's
own image is then the sandbox, as it carries the toolchain itself.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from docker.client import DockerClient
from docker.errors import DockerException, ImageNotFound

from codeagent.errors import SandboxError


def pull_with_docker(image: str) -> None:
    """Pull ``image`` through the runner's Docker engine, unless the engine already has it."""
    client = DockerClient.from_env(timeout=600)
    try:
        client.images.get(image)
    except ImageNotFound:
        client.images.pull(image)
    finally:
        client.close()


class Prefetch:
    """One image, pulled on a background thread; `image` waits for it."""

    def __init__(self, image: str, pull: Callable[[str], None] = pull_with_docker) -> None:
        self.name = image
        """The image's reference ("" when there is nothing to pull)."""
        self._pull = pull
        self._done = threading.Event()
        self._error: Exception | None = None
        self.seconds: float | None = None
        """How long the pull took, once done."""

    def start(self) -> Prefetch:
        """Start the pull (nothing to do without an image); returns self."""
        if not self.name:
            self._done.set()
            return self
        threading.Thread(target=self._run, name="codeagent-prefetch", daemon=True).start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self._pull(self.name)
        except (DockerException, OSError) as error:
            self._error = error
        finally:
            self.seconds = time.monotonic() - started
            self._done.set()

    def image(self, timeout_s: float = 900.0) -> str:
        """The image, once pulled ("" when there is none); a failed pull is a SandboxError."""
        if not self._done.wait(timeout_s):
            raise SandboxError(f"the sandbox image {self.name} did not finish pulling within {timeout_s:.0f} s. "
                               "Re-run the job; if it keeps happening, the registry (ghcr.io) may be slow.")
        if self._error is not None:
            raise SandboxError(f"cannot pull the sandbox image {self.name}: {self._error}. Re-run the job; on a "
                               "self-hosted runner, check that it can reach the registry.") from self._error
        return self.name
