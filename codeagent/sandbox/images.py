"""Which image the sandbox runs: `sandbox-image`, the project's devcontainer, or the action's own.

The action's own image carries a toolchain most projects build and test with (Python,
Node.js, a C compiler, git, ripgrep, jq); a project with other needs names an image, or
brings a `.devcontainer/devcontainer.json` on its default branch.
"""

from __future__ import annotations

from typing import Callable

from codeagent.log import Log
from codeagent.sandbox.engine import Engine
from codeagent.sandbox.workbench import SandboxImage
from codeagent.settings import Settings


def choose_image(engine: Engine, settings: Settings, read_file: Callable[[str], str | None], log: Log) -> SandboxImage:
    """The image for this run's sandbox, pulled when needed."""
    if settings.sandbox_image:
        engine.ensure_image(settings.sandbox_image)
        log.info(f"sandbox image: {settings.sandbox_image} (`sandbox-image`)")
        return SandboxImage(settings.sandbox_image)
    log.info("sandbox image: the action's own (Python, Node.js, build tools)")
    return SandboxImage(engine.own_image)
