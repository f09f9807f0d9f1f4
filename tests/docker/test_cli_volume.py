"""A project's own image gets the chosen agent's CLI in a volume: only it and the forwarder, links followed.

The volume is filled from the action image (its /opt/codeagent/cli) and mounted read-only into an
image that has none of it: here the bare Debian base, without Node.js, where Gemini CLI must still
run on the Node.js that came in the volume beside it.
"""

from __future__ import annotations

import time
import uuid

import pytest

from codeagent.sandbox.engine import CLI_DIR, Engine
from codeagent.sandbox.workbench import FORWARDER

pytestmark = pytest.mark.docker

BASE_IMAGE = "codeagent-base:bookworm"
VERSION = {"claude": ["claude", "--version"], "codex": ["codex/bin/codex", "--version"],
           "gemini": ["gemini/node", f"{CLI_DIR}/gemini/bundle/gemini.js", "--version"]}


@pytest.fixture(scope="module")
def action_image(dev_action_image) -> str:
    return dev_action_image


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
def test_the_volume_holds_the_agent_s_cli_and_the_forwarder_and_runs_in_a_bare_image(docker_engine, action_image,
                                                                                     agent):
    labels = {"codeagent.test": f"agents-{uuid.uuid4().hex[:8]}"}
    name = f"codeagent-cli-test-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    Engine(docker_engine).volume_from_image(action_image, CLI_DIR, name, labels, entries=(FORWARDER, agent))
    copied_s = time.monotonic() - started
    try:
        script = (f"cd {CLI_DIR} && ls && test ! -L {agent.split('/')[0]} && "
                  + ("test -f gemini/node -a ! -L gemini/node && ! command -v node && " if agent == "gemini" else "")
                  + " ".join(f"{CLI_DIR}/{part}" if i == 0 else part for i, part in enumerate(VERSION[agent])))
        output = docker_engine.containers.run(
            BASE_IMAGE, ["sh", "-c", script], volumes={name: {"bind": CLI_DIR, "mode": "ro"}}, remove=True,
            network_mode="none", user="1001:1001", environment={"HOME": "/tmp", "GEMINI_CLI_NO_RELAUNCH": "true"},
            labels=labels).decode()
    finally:
        docker_engine.volumes.get(name).remove()
    assert output.split()[:2] == sorted([FORWARDER, agent]), output
    assert any(char.isdigit() for char in output.splitlines()[-1]), output
    assert copied_s < 60, f"copying the CLI took {copied_s:.1f} s"
