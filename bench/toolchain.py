"""What a scenario's toolchain needs on this machine: local images, a stand-in package index.

``images``: Docker images the scenario's repository names (a devcontainer's ``image``), built
here from the local base image before the run and kept by tag (rebuilt when their Dockerfile
changes), since this machine has no registry to pull them from.

``package_index``: a stand-in Python package index on loopback (`bench.index`) for the run,
reached from the sandbox only through the action's gateway under a test name that the runner's
environment maps (``CODEAGENT_GATEWAY_HOSTS``), never the repository.
"""

from __future__ import annotations

import hashlib
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import docker
from docker.errors import APIError, ImageNotFound

from bench.index import PackageIndex, build_wheel, installed_wheels

BUILT_LABEL = "codeagent.image=devcontainer"
"""The label the action puts on an image it builds."""
IMAGE_LABEL = "codeagent.bench.image"
"""Label of the images the bench builds: the digest of the Dockerfile they were built from."""
_BUILDING = threading.Lock()
"""Scenarios run in threads of one process; one builds an image while another waits for it."""


@dataclass(frozen=True)
class ScenarioImage:
    tag: str
    dockerfile: str


@dataclass(frozen=True)
class ScenarioWheel:
    name: str
    version: str
    files: dict[str, str]


@dataclass(frozen=True)
class ScenarioIndex:
    host: str
    """The name the sandbox uses (``pypi.bench.test``); only it resolves to the index."""
    installed: tuple[str, ...] = ()
    """Distributions installed here (``pytest``) served with the dependencies they need."""
    wheels: tuple[ScenarioWheel, ...] = ()


def read_images(data: list | None, where: str) -> tuple[ScenarioImage, ...]:
    images = []
    for entry in data or []:
        _only(entry, {"tag", "dockerfile"}, where)
        images.append(ScenarioImage(str(entry["tag"]), str(entry["dockerfile"])))
    return tuple(images)


def read_index(data: dict | None, where: str) -> ScenarioIndex | None:
    if not data:
        return None
    _only(data, {"host", "installed", "wheels"}, where)
    wheels = []
    for wheel in data.get("wheels") or []:
        _only(wheel, {"name", "version", "files"}, f"{where}.wheels")
        wheels.append(ScenarioWheel(str(wheel["name"]), str(wheel["version"]), dict(wheel.get("files") or {})))
    return ScenarioIndex(str(data["host"]), tuple(str(name) for name in data.get("installed") or []), tuple(wheels))


def build_images(client: docker.DockerClient, images: tuple[ScenarioImage, ...]) -> None:
    """Build each image unless the engine has it, built from the same Dockerfile."""
    for image in images:
        digest = hashlib.sha256(image.dockerfile.encode()).hexdigest()[:16]
        with _BUILDING:
            try:
                if client.images.get(image.tag).labels.get(IMAGE_LABEL) == digest:
                    continue
            except ImageNotFound:
                pass
            client.images.build(fileobj=io.BytesIO(image.dockerfile.encode()), tag=image.tag, rm=True,
                                forcerm=True, labels={IMAGE_LABEL: digest})


_running = 0
"""Scenarios of this process inside `removing_built_images` now (tests/e2e runs several at once)."""
_before: set[str] = set()
"""The devcontainer images there were when the first of them started."""
_running_lock = threading.Lock()


@contextmanager
def removing_built_images(client: docker.DockerClient) -> Iterator[None]:
    """Images the action builds (from a devcontainer's Dockerfile) during the block are removed after it, so
    each run of a scenario builds its image again and none piles up on the engine.

    They are removed when the last of this process's scenarios running at once ends: an image
    that appeared meanwhile may be another scenario's, built and not yet started (removing it
    then fails that run)."""
    global _running, _before

    def built() -> set[str]:
        # Ids only: listing image objects reads each one, and one removed meanwhile is a 404.
        return set(client.api.images(quiet=True, filters={"label": BUILT_LABEL}))

    with _running_lock:
        if _running == 0:
            _before = built()
        _running += 1
    try:
        yield
    finally:
        with _running_lock:
            _running -= 1
            leftover = built() - _before if _running == 0 else set()
            for image in leftover:
                try:
                    client.images.remove(image, force=False, noprune=False)
                except (APIError, ImageNotFound):  # another bench's run uses it right now: it removes it itself
                    pass


@contextmanager
def serve_index(index: ScenarioIndex | None) -> Iterator[tuple[PackageIndex | None, dict[str, str]]]:
    """The scenario's package index while the run goes on, and the runner environment that maps its name."""
    if index is None:
        yield None, {}
        return
    wheels = installed_wheels(*index.installed) + [build_wheel(w.name, w.version, w.files) for w in index.wheels]
    with PackageIndex(wheels) as server:
        yield server, {"CODEAGENT_GATEWAY_HOSTS": f"{index.host}=127.0.0.1:{server.port}"}


def _only(data: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
