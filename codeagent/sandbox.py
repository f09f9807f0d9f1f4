"""The sandbox: a sibling container, started through the runner's docker socket.

The runner mounts ``/var/run/docker.sock`` into the action's container, so a
container started from here is created by the host's daemon: bind-mount sources
are *host* paths. The action finds its own container (``docker inspect``) and
translates ``/github/workspace`` into the host path the runner mounted there.
"""

from __future__ import annotations

import re
import uuid
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from codeagent.errors import SandboxError

CLI_DIR = "/opt/codeagent/cli"
_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")


@dataclass(frozen=True)
class SandboxSpec:
    """What to run in the sandbox and under which limits."""

    command: list[str]
    workdir: str
    """Path of the workspace inside the action container; mounted at the same path."""
    env: dict[str, str]
    user: str
    """``uid:gid`` the agent runs as: the workspace owner."""
    image: str = ""
    """Empty: the action's own image (already on the runner, the CLI inside)."""
    memory: str = "4g"
    cpus: float = 2.0
    pids: int = 512
    timeout_s: float = 1800.0
    labels: dict[str, str] = field(default_factory=dict)
    tmp_size: str = "1g"
    """Size of the sandbox's /tmp, a tmpfs: scratch space that cannot fill the runner's disk."""
    home: tuple[str, str] | None = None
    """(directory in the action container, path in the sandbox) mounted read-write as the agent's HOME."""


@dataclass(frozen=True)
class SandboxExit:
    """How the sandbox ended."""

    exit_code: int | None
    timed_out: bool
    stopped: bool
    """Stopped early on request (``should_stop`` said so), e.g. the budget was reached."""
    oom_killed: bool
    stderr_tail: tuple[str, ...]


@dataclass(frozen=True)
class SelfContainer:
    """The action's own container, as the host's daemon knows it."""

    id: str
    image: str
    network_mode: str
    mounts: tuple[tuple[str, str], ...]
    """(destination inside the container, source on the host), longest first."""


class Sandbox:
    """Starts, streams and always removes the agent's container."""

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        try:
            self._docker = client or docker.from_env(timeout=120)
            self._docker.ping()
        except DockerException as error:
            raise SandboxError(
                "cannot reach the Docker engine through /var/run/docker.sock: "
                f"{error}. Run the action on a runner with Docker (ubuntu-latest has it)."
            ) from error
        self.own = find_self_container(self._docker)

    def host_path(self, path: str) -> str:
        """The host path behind ``path`` of this container (itself outside a container)."""
        if self.own is None:
            return path
        for destination, source in self.own.mounts:
            if path == destination or path.startswith(destination.rstrip("/") + "/"):
                return source + path[len(destination):]
        raise SandboxError(
            f"{path} is not on a volume the runner mounted into the action's container, "
            "so a sibling container cannot see it."
        )

    def run(
        self,
        spec: SandboxSpec,
        on_line: Callable[[str], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SandboxExit:
        """Run ``spec`` to the end, feeding each stdout line to ``on_line``."""
        # Named up front, so a signal that lands while the container is being
        # created still finds it by name in the ``finally``.
        name = f"codeagent-sandbox-{uuid.uuid4().hex[:12]}"
        watchdog = None
        try:
            container = self._create(spec, name)
            watchdog = _Watchdog(container, spec.timeout_s, should_stop)
            container.start()
            watchdog.start()
            for line in _lines(_stdout(container)):
                on_line(line)
            status = container.wait(timeout=30)
            container.reload()
            return SandboxExit(
                exit_code=status.get("StatusCode"),
                timed_out=watchdog.timed_out,
                stopped=watchdog.stopped,
                oom_killed=bool(container.attrs["State"].get("OOMKilled")),
                stderr_tail=_stderr_tail(container),
            )
        except (APIError, DockerException) as error:
            raise SandboxError(f"the sandbox container failed: {error}") from error
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._remove(name)
            if spec.image and self.own:
                self._remove_cli_volume(_cli_volume_name(self.own.image))

    def _remove(self, name: str) -> None:
        try:
            remove_container(self._docker.containers.get(name))
        except NotFound:
            pass

    def _remove_cli_volume(self, name: str) -> None:
        """The CLI's volume goes too (it is refilled in a second); one still in use stays."""
        try:
            self._docker.volumes.get(name).remove()
        except (NotFound, APIError):
            pass

    def _create(self, spec: SandboxSpec, name: str):
        image, volumes = self._image_and_volumes(spec)
        volumes[self.host_path(spec.workdir)] = {"bind": spec.workdir, "mode": "rw"}
        if spec.home:
            volumes[self.host_path(spec.home[0])] = {"bind": spec.home[1], "mode": "rw"}
        git_dir = f"{spec.workdir}/.git"
        if Path(git_dir).is_dir():
            # The agent may read the history but not rewrite it, add hooks or config.
            volumes[self.host_path(git_dir)] = {"bind": git_dir, "mode": "ro"}
        try:
            return self._docker.containers.create(
                image,
                name=name,
                command=spec.command,
                entrypoint=[],
                working_dir=spec.workdir,
                user=spec.user,
                environment=spec.env,
                volumes=volumes,
                network_mode=self.own.network_mode if self.own else "bridge",
                mem_limit=spec.memory,
                memswap_limit=spec.memory,
                nano_cpus=int(spec.cpus * 1e9),
                pids_limit=spec.pids,
                tmpfs=_tmpfs(spec),
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                labels={"codeagent.sandbox": "1", **spec.labels},
                detach=True,
            )
        except ImageNotFound as error:
            raise SandboxError(
                f"sandbox image {image!r} not found: pull it in an earlier step "
                "or fix the `sandbox-image` input."
            ) from error
        except (APIError, DockerException) as error:
            raise SandboxError(f"cannot create the sandbox container: {error}") from error

    def _image_and_volumes(self, spec: SandboxSpec) -> tuple[str, dict]:
        own_image = self.own.image if self.own else ""
        if not spec.image:
            if not own_image:
                raise SandboxError("not running in a container: set the `sandbox-image` input.")
            return own_image, {}
        # A repository's own image (its toolchain) gets the CLI from ours, read-only.
        volumes = {}
        if own_image:
            volumes[self._cli_volume(own_image, spec.labels)] = {"bind": CLI_DIR, "mode": "ro"}
        if not self._has_image(spec.image):
            self._pull(spec.image)
        return spec.image, volumes

    def _pull(self, image: str) -> None:
        try:
            self._docker.images.pull(image)
        except (APIError, DockerException) as error:
            raise SandboxError(
                f"cannot pull the sandbox image {image!r}: {error}. Fix the `sandbox-image` "
                "input, or build or pull the image in an earlier step."
            ) from error

    def _cli_volume(self, own_image: str, labels: dict[str, str]) -> str:
        """A named volume holding the CLI; Docker fills an empty one from the image."""
        name = _cli_volume_name(own_image)
        self._docker.containers.run(
            own_image, entrypoint=["true"], volumes={name: {"bind": CLI_DIR, "mode": "rw"}},
            labels={"codeagent.sandbox": "cli-volume", **labels}, remove=True,
        )
        return name

    def _has_image(self, name: str) -> bool:
        try:
            self._docker.images.get(name)
            return True
        except ImageNotFound:
            return False


class _Watchdog:
    """Kills the container at the wall-clock limit or when asked to stop."""

    def __init__(self, container, timeout_s: float, should_stop: Callable[[], bool]) -> None:
        self._container = container
        self._deadline = time.monotonic() + timeout_s
        self._should_stop = should_stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.timed_out = False
        self.stopped = False

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._done.set()

    def _stop_requested(self) -> bool:
        try:
            return bool(self._should_stop())
        except Exception:  # a broken check must not leave the agent running unwatched
            return True

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            if time.monotonic() >= self._deadline:
                self.timed_out = True
            elif self._stop_requested():
                self.stopped = True
            else:
                continue
            _kill(self._container)
            return


def _tmpfs(spec: SandboxSpec) -> dict[str, str]:
    """/tmp with its size limit; and an empty .git/modules, whose configs actions/checkout
    (with `submodules: true`) fills with the token's header."""
    mounts = {"/tmp": f"size={spec.tmp_size},mode=1777"}
    if Path(spec.workdir, ".git", "modules").is_dir():
        mounts[f"{spec.workdir}/.git/modules"] = "size=1m,mode=0555"
    return mounts


def _cli_volume_name(own_image: str) -> str:
    return "codeagent-cli-" + own_image.split(":")[-1][:12]


def find_self_container(client: docker.DockerClient) -> SelfContainer | None:
    """The container this process runs in, or None outside a container."""
    container_id = _own_container_id()
    if container_id is None:
        return None
    try:
        attrs = client.api.inspect_container(container_id)
    except NotFound:
        return None
    mounts = sorted(
        ((m["Destination"], m["Source"]) for m in attrs.get("Mounts", [])),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    return SelfContainer(
        id=attrs["Id"],
        image=attrs["Image"],
        network_mode=attrs["HostConfig"].get("NetworkMode") or "bridge",
        mounts=tuple(mounts),
    )


def _own_container_id() -> str | None:
    """Read from mountinfo (works with host networking, where HOSTNAME is the host's)."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return None
    # Docker bind-mounts /etc/hostname from the container's own directory; prefer that
    # line over any other mention of a container directory.
    lines = mountinfo.splitlines()
    for line in sorted(lines, key=lambda line: " /etc/hostname " not in line):
        match = _CONTAINER_ID.search(line)
        if match:
            return match.group(1)
    return None


def _stdout(container) -> Iterator[bytes]:
    """The container's stdout as it comes, then whatever the follow stream missed.

    A follow stream can end before a last line that has no newline (moby/moby#43860),
    so once the container has exited its log is read again and the rest passed on.
    """
    seen = 0
    for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=False):
        seen += len(chunk)
        yield chunk
    container.wait(timeout=30)
    yield container.logs(stdout=True, stderr=False)[seen:]


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if buffer:
        yield buffer.decode("utf-8", errors="replace")


def _stderr_tail(container, lines: int = 20) -> tuple[str, ...]:
    text = container.logs(stdout=False, stderr=True, tail=lines).decode("utf-8", "replace")
    return tuple(deque(text.splitlines(), maxlen=lines))


def _kill(container) -> None:
    try:
        container.kill()
    except (APIError, NotFound):
        pass


def remove_container(container) -> None:
    """Remove ``container`` whatever its state; a missing one is fine."""
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as error:
        if "already in progress" not in str(error):
            raise SandboxError(f"could not remove the sandbox container: {error}") from error
