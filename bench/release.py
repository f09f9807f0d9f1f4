"""The released path on the bench: publish with scripts/release to a local registry, pull as the runner does.

For ``runs: image: docker://REF`` the runner pulls REF at the start of the job and runs it
(actions/runner ContainerActionHandler: ``docker pull``, then ``docker create``); for
``image: Dockerfile`` it builds. `publish` makes a release the way the release workflow does
(both images, the action's naming its sandbox by digest, the action.yml rewritten), only into a
registry on this machine and for this machine's platform.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import docker
import yaml
from docker.errors import ImageNotFound

from bench.registry import LocalRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_VERSION = "0.0.0"


@dataclass(frozen=True)
class ActionImage:
    """The image the runner starts for the action, and what getting it took."""

    ref: str
    build_s: float | None = None
    """Seconds the `docker build` of the Dockerfile took (the `image: Dockerfile` path)."""
    pull_s: float | None = None
    """Seconds the `docker pull` of a released image took (the `image: docker://...` path)."""
    pull: bool = False
    """A released image: the runner pulls it before the job (set on `publish`'s result)."""
    action_yml: Path = REPO_ROOT / "action.yml"
    """The action.yml whose inputs the runner passes: the checkout's, or the released one."""


@dataclass(frozen=True)
class Release:
    """What scripts/release published: the released action.yml and both images."""

    action_yml: Path
    action_image: str
    """As the released action.yml names it, without ``docker://``."""
    action_digest: str
    sandbox_image: str
    sandbox_digest: str
    publish_s: float

    @property
    def image(self) -> ActionImage:
        return ActionImage(self.action_image, pull=True, action_yml=self.action_yml)


def publish(registry: LocalRegistry, work: Path, base_image: str, repo_root: Path = REPO_ROOT,
            version: str = BENCH_VERSION, name: str = "codeagent") -> Release:
    """Run scripts/release of ``repo_root`` into ``registry``; the engine keeps no tag of what it pushed,
    so a run pulls the images as a runner would."""
    work.mkdir(parents=True, exist_ok=True)
    action_yml, out = work / "action.yml", work / "release.env"
    action_yml.write_text((repo_root / "action.yml").read_text())
    started = time.monotonic()
    subprocess.run([str(repo_root / "scripts" / "release"), version, "--image", registry.repository("codeagent-dev", name),
                    "--base-image", base_image, "--action-yml", str(action_yml), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    image = yaml.safe_load(action_yml.read_text())["runs"]["image"]
    assert image == f"docker://{values['ACTION_IMAGE']}", f"scripts/release left image: {image}"
    for ref in (values["ACTION_IMAGE"], values["SANDBOX_IMAGE"]):
        forget(ref)
    return Release(action_yml, values["ACTION_IMAGE"], values["ACTION_DIGEST"], values["SANDBOX_IMAGE"],
                   values["SANDBOX_DIGEST"], seconds)


def forget(ref: str, client: docker.DockerClient | None = None) -> None:
    """Remove the engine's tags of ``ref`` and of its repository's digests (layers other images share stay)."""
    client = client or docker.from_env()
    try:
        image = client.images.get(ref)
    except ImageNotFound:
        return
    repository = ref.rsplit(":", 1)[0] if "@" not in ref else ref.split("@")[0]
    for name in [*image.tags, *image.attrs.get("RepoDigests", [])]:
        if name.startswith(repository + ":") or name.startswith(repository + "@"):
            try:
                client.images.remove(name, noprune=True)  # the build cache stays
            except ImageNotFound:
                pass


def pull(image: ActionImage, client: docker.DockerClient | None = None) -> ActionImage:
    """``docker pull`` as the runner does before the job; the image with the seconds it took."""
    if not image.pull:
        return image
    client = client or docker.from_env()
    started = time.monotonic()
    client.images.pull(image.ref)
    return replace(image, pull_s=round(time.monotonic() - started, 2))
