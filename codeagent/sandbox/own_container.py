"""The action's own container, found from inside it: its id, its image and where the runner mounted what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from docker.client import DockerClient
from docker.errors import NotFound

_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")


@dataclass(frozen=True)
class SelfContainer:
    """The action's own container, as the host's daemon knows it."""

    id: str
    image: str
    mounts: tuple[tuple[str, str], ...]
    """(destination inside the container, source on the host), longest first."""



def find_self_container(client: DockerClient) -> SelfContainer | None:
    """The container this process runs in, or None outside a container."""
    container_id = _own_container_id()
    if container_id is None:
        return None
    try:
        attrs = client.api.inspect_container(container_id)
    except NotFound:
        return None
    mounts = sorted(((m["Destination"], m["Source"]) for m in attrs.get("Mounts", [])),
                    key=lambda pair: len(pair[0]), reverse=True)
    return SelfContainer(id=attrs["Id"], image=attrs["Image"], mounts=tuple(mounts))


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
