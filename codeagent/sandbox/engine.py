"""Containers beside the action's own, through the runner's docker socket.

The runner mounts ``/var/run/docker.sock`` into the action's container, so a container
started from here is created by the host's daemon: bind-mount sources are *host* paths.
The action finds its own container (``docker inspect``) and translates its paths (the
workspace, the runner's temp directory) into the host paths the runner mounted there.

Every container started here runs without network (`network_mode: none`), without
capabilities, as a non-root user, under limits, and is removed whatever happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from docker.client import DockerClient
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import LogConfig

from codeagent.errors import Cancelled, SandboxError
from codeagent.sandbox.lines import LineSplitter
from codeagent.sandbox.output import StderrTail, attached_stdout
from codeagent.sandbox.own_container import find_self_container
from codeagent.sandbox.prefetch import Prefetch
from codeagent.sandbox.watchdog import Watchdog

CLI_DIR = "/opt/codeagent/cli"
"""Where the agent CLIs (and the forwarder) are, in the action image and in any sandbox."""
LOG_LIMIT = LogConfig(type=LogConfig.types.JSON, config={"max-size": "64m", "max-file": "1"})
"""A flood of output must not fill the runner's disk through the container's log file. (stdout
and stderr are read from attach streams, which the log's rotation cannot cut.)"""
NO_ENGINE_HINT = ("Run the action on a runner with Docker (GitHub's ubuntu-latest has it); on a self-hosted "
                  "runner, install Docker and give the runner's user access to /var/run/docker.sock.")


@dataclass(frozen=True)
class Mount:
    """A directory (or socket) the container sees."""

    source: str
    """A path in the action's container (translated to the host's), or a volume's name."""
    target: str
    read_only: bool = False
    volume: bool = False


@dataclass(frozen=True)
class Limits:
    memory: str = "4g"
    cpus: float = 2.0
    pids: int = 512
    tmp_size: str = "1g"
    """Size of /tmp, a tmpfs counted in the memory: scratch space that cannot fill the runner's disk.
    Mounted `exec` (Docker's default is `noexec`): `go test` and many builds run what they compile there."""
    timeout_s: float = 1800.0


@dataclass(frozen=True)
class ContainerSpec:
    """One short-lived container: what it runs, as whom, what it sees."""

    image: str
    command: list[str]
    user: str
    """``uid:gid``."""
    workdir: str
    env: dict[str, str]
    mounts: tuple[Mount, ...] = ()
    limits: Limits = Limits()
    labels: dict[str, str] = field(default_factory=dict)
    role: str = "sandbox"
    """What it is for (``sandbox``, ``packer``), in its name and labels."""
    masked: tuple[str, ...] = ()
    """Paths inside the mounts covered with an empty, read-only tmpfs: there, but nothing to see."""
    init: bool = True
    """Docker's init as the first process; False when ``command`` is an init itself (the forwarder)."""


@dataclass(frozen=True)
class SandboxExit:
    """How a container ended."""

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    stderr_tail: tuple[str, ...]
    cut_lines: int = 0
    """Output lines longer than the line cap, cut."""
    dropped_bytes: int = 0
    """Output past the total cap, not read."""


class Engine:
    """The Docker engine the runner gave the action."""

    def __init__(self, client: DockerClient | None = None, released_sandbox: Prefetch | None = None) -> None:
        """``released_sandbox``: a released action's sandbox image, being pulled (none for a Dockerfile build)."""
        self._released_sandbox = released_sandbox
        try:
            self._docker = client or DockerClient.from_env(timeout=120)
            self._docker.ping()
        except DockerException as error:
            raise SandboxError(f"cannot reach the Docker engine through /var/run/docker.sock: {error}. "
                               f"{NO_ENGINE_HINT}") from error
        self.own = find_self_container(self._docker)
        self._killed: list[str] = []

    @property
    def own_image(self) -> str:
        """The action's image id, or "" outside a container."""
        return self.own.image if self.own else ""

    @property
    def toolchain_image(self) -> str:
        """The image with the toolchain and the agent CLIs: a released action's sandbox image (once its
        background pull is done), else the action's own, which a Dockerfile build makes with both."""
        released = self._released_sandbox.image() if self._released_sandbox else ""
        return released or self.own_image

    def host_path(self, path: str) -> str:
        """The host path behind ``path`` of this container (itself outside a container)."""
        if self.own is None:
            return path
        for destination, source in self.own.mounts:
            if path == destination or path.startswith(destination.rstrip("/") + "/"):
                return source + path[len(destination):]
        raise SandboxError(f"{path} is not on a volume the runner mounted into the action's container, so a "
                           "sibling container cannot see it. Keep the checkout in GITHUB_WORKSPACE (the default "
                           "of actions/checkout).")

    def run(self, spec: ContainerSpec, on_line: Callable[[str], None],
            should_stop: Callable[[], bool] = lambda: False) -> SandboxExit:
        """Run ``spec`` to the end, feeding each stdout line to ``on_line``; the container is removed (when the
        run is cancelled, killed now and removed at `remove_killed`)."""
        name = container_name(spec)
        try:
            return self.start(spec, name).finish(on_line, should_stop)
        except BaseException:  # a signal between the start and the finish: still removed, by name
            self.remove(name)
            raise

    def start(self, spec: ContainerSpec, name: str = "") -> Started:
        """Start ``spec``, its stdout attached first so that not one byte is missed; `Started.finish` reads it
        and removes the container (`Started.discard` removes one not needed after all)."""
        # Named up front, so a signal that lands while it is being created still finds it by name.
        name = name or container_name(spec)
        try:
            container = self._create(spec, name)
            stdout, stderr = attached_stdout(container), StderrTail(container)
            container.start()
            return Started(self, container, name, stdout, stderr, spec)
        except (APIError, DockerException) as error:
            self.remove(name)
            raise _failed(spec, error) from error
        except BaseException:
            self.remove(name)
            raise

    def has_image(self, image: str) -> bool:
        try:
            self._docker.images.get(image)
            return True
        except ImageNotFound:
            return False

    def ensure_image(self, image: str) -> None:
        """Pull ``image`` unless the engine has it."""
        if self.has_image(image):
            return
        try:
            self._docker.images.pull(image)
        except (APIError, DockerException) as error:
            raise SandboxError(f"cannot pull the image {image!r}: {error}. Fix the `sandbox-image` input (or the "
                               "devcontainer's `image`), or build or pull the image in an earlier step.") from error

    def image_env(self, image: str) -> dict[str, str]:
        """The environment ``image`` sets (its `ENV`s)."""
        env = self._docker.images.get(image).attrs["Config"].get("Env") or []
        return dict(item.split("=", 1) for item in env if "=" in item)

    def build(self, context: Path, dockerfile: str, tag: str, args: dict[str, str], target: str,
              on_line: Callable[[str], None]) -> None:
        """Build ``tag`` from the tar file ``context`` (``dockerfile`` a path inside it), its RUN steps with
        the engine's default network; intermediate containers are removed whatever happens."""
        failure = ""
        try:
            with context.open("rb") as tar:
                for chunk in self._docker.api.build(
                        fileobj=tar, custom_context=True, dockerfile=dockerfile, tag=tag, buildargs=args,
                        target=target or None, labels={"codeagent.image": "devcontainer"}, rm=True, forcerm=True,
                        decode=True):
                    failure = failure or str(chunk.get("error") or "").strip()
                    for line in filter(str.strip, str(chunk.get("stream") or "").splitlines()):
                        on_line(line)
        except (APIError, DockerException) as error:
            failure = str(error)
        if failure:
            raise SandboxError(f"building the devcontainer's image failed: {failure}. Fix its Dockerfile (or its build "
                               "context and args) on the default branch, or set the `sandbox-image` input; the build's "
                               "output is in the log group \"Set up the project\".")

    def volume_from_image(self, image: str, path: str, name: str, labels: dict[str, str],
                          entries: tuple[str, ...] = ()) -> str:
        """A named volume holding ``path`` of ``image``, or only its ``entries`` (files or directories),
        copied with symbolic links followed: what they point to in ``image`` comes along."""
        self.ensure_image(image)
        if entries:  # cp(1) of the image itself; the volume is mounted beside ``path``
            command, target = ["cp", "-RL", *(f"{path}/{entry}" for entry in entries), "/codeagent-volume/"], \
                "/codeagent-volume"
        else:  # Docker fills an empty volume from the image
            command, target = ["true"], path
        try:
            self._docker.containers.run(image, entrypoint=command[:1], command=command[1:],
                                        volumes={name: {"bind": target, "mode": "rw"}},
                                        labels={"codeagent.sandbox": "volume", **labels}, remove=True,
                                        network_mode="none", user="0:0")
        except (APIError, DockerException) as error:
            raise SandboxError(f"cannot copy {path} out of the image {image!r}: {error}. Re-run the job; if it "
                               "fails again, check that the runner's Docker has room for volumes.") from error
        return name

    def remove_volume(self, name: str) -> None:
        """Remove a volume; one still in use, or gone, stays as it is."""
        try:
            self._docker.volumes.get(name).remove()
        except (NotFound, APIError):
            pass

    def remove(self, name: str) -> None:
        """Remove the container ``name`` whatever its state; a missing one is fine. One killed by
        `kill_and_remove_later` waits for `remove_killed`."""
        if name in self._killed:
            return
        try:
            remove_container(self._docker.containers.get(name))
        except NotFound:
            pass

    def kill_and_remove_later(self, name: str) -> None:
        """Kill the container ``name`` now, and leave its removal to `remove_killed`: removing a container
        deletes what it wrote, which an agent can make take longer than a cancelled job has left."""
        self._killed.append(name)
        try:
            self._docker.containers.get(name).kill()
        except (NotFound, APIError):
            pass

    def remove_killed(self) -> list[str]:
        """Remove the containers `kill_and_remove_later` left; what failed, said (never raised)."""
        failures = []
        killed, self._killed = self._killed, []
        for name in killed:
            try:
                self.remove(name)
            except (SandboxError, DockerException) as error:
                failures.append(f"could not remove the container {name}: {error}")
        return failures

    def _create(self, spec: ContainerSpec, name: str):
        volumes = {}
        for mount in spec.mounts:
            source = mount.source if mount.volume else self.host_path(mount.source)
            volumes[source] = {"bind": mount.target, "mode": "ro" if mount.read_only else "rw"}
        try:
            return self._docker.containers.create(
                spec.image, name=name, command=spec.command, entrypoint=[], working_dir=spec.workdir,
                user=spec.user, environment=spec.env, volumes=volumes, network_mode="none", init=spec.init,
                mem_limit=spec.limits.memory, memswap_limit=spec.limits.memory,
                nano_cpus=int(spec.limits.cpus * 1e9), pids_limit=spec.limits.pids,
                tmpfs={"/tmp": f"size={spec.limits.tmp_size},mode=1777,exec",
                       **{path: "size=4k,mode=0555" for path in spec.masked}}, cap_drop=["ALL"],
                security_opt=["no-new-privileges"], log_config=LOG_LIMIT,
                labels={"codeagent.sandbox": spec.role, **spec.labels}, detach=True,
            )
        except ImageNotFound as error:
            raise SandboxError(f"sandbox image {spec.image!r} not found: pull it in an earlier step "
                               "or fix the `sandbox-image` input.") from error
        except (APIError, DockerException) as error:
            raise SandboxError(f"cannot create the {spec.role} container: {error}. Check that the image "
                               f"{spec.image!r} exists for this runner's platform and that Docker has room.") from error


class Started:
    """A container `Engine.start` started: its stdout attached, nothing read yet."""

    def __init__(self, engine: Engine, container: Container, name: str, stdout: Iterator[bytes], stderr: StderrTail,
                 spec: ContainerSpec) -> None:
        self._engine, self._container, self.name, self._spec = engine, container, name, spec
        self._stdout, self._stderr = stdout, stderr

    def finish(self, on_line: Callable[[str], None], should_stop: Callable[[], bool] = lambda: False) -> SandboxExit:
        """Feed each stdout line to ``on_line`` until the container ends (or its time limit, counted from
        now, or ``should_stop``); how it ended. The container is removed, or, when the run is cancelled,
        killed now and removed at `Engine.remove_killed`."""
        watchdog, stopped = None, False
        try:
            watchdog = Watchdog(self._container, self._spec.limits.timeout_s, should_stop)
            watchdog.start()
            splitter = LineSplitter()
            for line in splitter.split(self._stdout):
                on_line(line)
            status = self._container.wait(timeout=30)
            self._container.reload()
            return SandboxExit(exit_code=status.get("StatusCode"), timed_out=watchdog.timed_out,
                               oom_killed=bool(self._container.attrs["State"].get("OOMKilled")),
                               stderr_tail=self._stderr.tail(), cut_lines=splitter.cut_lines,
                               dropped_bytes=splitter.dropped_bytes)
        except (APIError, DockerException) as error:
            raise _failed(self._spec, error) from error
        except (Cancelled, KeyboardInterrupt):  # killed now, removed once the run has said how it ended
            stopped = True
            self._engine.kill_and_remove_later(self.name)
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if not stopped:
                self.discard()

    def discard(self) -> None:
        """Remove the container, read or not."""
        self._engine.remove(self.name)


def container_name(spec: ContainerSpec) -> str:
    return f"codeagent-{spec.role}-{uuid.uuid4().hex[:12]}"


def _failed(spec: ContainerSpec, error: Exception) -> SandboxError:
    return SandboxError(f"the {spec.role} container failed: {error}. If the runner's disk or memory is full, free "
                        "some; otherwise re-run the job.")


def remove_container(container) -> None:
    """Remove ``container`` whatever its state; a missing one is fine."""
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as error:
        if "already in progress" not in str(error):
            raise SandboxError(f"could not remove the sandbox container: {error}. Remove it with "
                               f"`docker rm -f {container.name}`.") from error
