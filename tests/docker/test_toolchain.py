"""The default sandbox's toolchain works as the agent meets it: uid 1001, HOME under /tmp, no network.

Each check runs in a container made the way the workbench makes the sandbox (``Engine.run``:
no network, no capabilities, /tmp a tmpfs, limits) from the action's image as the Dockerfile
builds it now (the `full` target, whose toolchain is the `sandbox` target's).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from bench.index import build_wheel
from bench.runner import build_action_image
from codeagent.sandbox.engine import ContainerSpec, Engine, Limits, Mount

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("CODEAGENT_IMAGE_TAG", "codeagent-action:bench")
BASE_IMAGE = "codeagent-base:bookworm"
AGENT = (1001, 1001)
HOME = "/tmp/codeagent-home"
LABELS = {"codeagent.test": "toolchain"}


@pytest.fixture(scope="module")
def image() -> str:
    """The action image of this checkout (a no-op when the build cache has it)."""
    build_action_image(REPO_ROOT, IMAGE, BASE_IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def engine(docker_engine) -> Engine:
    return Engine(docker_engine)


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A checkout owned by the agent's user, and its HOME beside it, as the workbench mounts them."""
    for name in ("workspace", "home"):
        (tmp_path / name).mkdir()
        os.chown(tmp_path / name, *AGENT)
    return tmp_path / "workspace"


def run(engine: Engine, image: str, workspace: Path, script: str) -> tuple[int | None, str]:
    """``script`` (sh) in the sandbox: its exit code and its output (stderr merged)."""
    lines: list[str] = []
    spec = ContainerSpec(
        image=image, command=["sh", "-ec", "exec 2>&1\n" + textwrap.dedent(script)], user="%d:%d" % AGENT,
        workdir=str(workspace), env={"HOME": HOME, "CI": "true"},
        mounts=(Mount(str(workspace), str(workspace)), Mount(str(workspace.parent / "home"), HOME)),
        limits=Limits(memory="2g", timeout_s=120), labels=LABELS)
    exit_ = engine.run(spec, lines.append)
    return exit_.exit_code, "\n".join(lines)


CHECKS = {
    "the agent's own user and HOME": ("id -u; echo $HOME; touch $HOME/written && echo home writable",
                                      ["1001", HOME, "home writable"]),
    "python and python3": ("python --version; python3 -c 'import ssl, sqlite3, venv; print(\"stdlib ok\")'",
                           ["Python 3.", "stdlib ok"]),
    "a venv in /tmp, its scripts run": ("python -m venv /tmp/venv; /tmp/venv/bin/pip --version",
                                        ["pip ", "/tmp/venv/"]),
    "node, npm, npx and corepack": ("node --version; npm --version; npx --version; corepack --version",
                                    ["v22.", "10.", "0."]),
    "a C program built and run from /tmp": (
        "printf '#include <stdio.h>\\nint main(void){puts(\"built with cc\");return 0;}' > /tmp/a.c\n"
        "cc -O2 -o /tmp/a /tmp/a.c; /tmp/a; g++ --version | head -1; make --version | head -1",
        ["built with cc", "g++", "GNU Make"]),
    "git as the agent": ("git init -q /tmp/r; cd /tmp/r; git -c user.name=a -c user.email=a@example.com "
                         "commit -q --allow-empty -m first; git log --format=%s",
                         ["first"]),
    "ripgrep, jq, curl, unzip": (
        "printf 'needle\\n' > /tmp/hay; rg -c needle /tmp/hay; echo '{\"a\": 41}' | jq '.a + 1'; "
        "curl --version | head -1; python -c \"import zipfile; zipfile.ZipFile('/tmp/z.zip', 'w')"
        ".writestr('inside.txt', 'x')\"; unzip -l /tmp/z.zip",
        ["1", "42", "curl 7", "inside.txt"]),
}


@pytest.mark.parametrize("name", CHECKS)
def test_the_tool_works_as_the_agent(engine, image, workspace, name):
    script, expected = CHECKS[name]
    code, output = run(engine, image, workspace, script)
    assert code == 0, output
    for text in expected:
        assert text in output, output


def test_pip_installs_a_wheel_as_the_agent_without_root(engine, image, workspace):
    """No venv: pip falls back to the user's site (the image removes the PEP 668 marker for that)."""
    wheel = build_wheel("tinything", "1.0", {"tinything.py": "ANSWER = 42\n"})
    (workspace / wheel.filename).write_bytes(wheel.data)
    code, output = run(engine, image, workspace, """
        pip install --no-index --find-links . tinything
        cd /tmp && python -c 'import tinything; print("answer", tinything.ANSWER)'
        python -m venv /tmp/v && /tmp/v/bin/pip install -q --no-index --find-links "$OLDPWD" tinything
        /tmp/v/bin/python -c 'import tinything; print("in the venv too")'
    """)
    assert code == 0, output
    assert "Successfully installed tinything-1.0" in output and "answer 42" in output, output
    assert "in the venv too" in output


def test_npm_test_runs_node_s_own_test_runner(engine, image, workspace):
    (workspace / "package.json").write_text('{"name": "t", "version": "1.0.0", "scripts": {"test": "node --test"}}\n')
    (workspace / "sum.test.js").write_text(
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "test('adds', () => assert.strictEqual(1 + 1, 2));\n")
    code, output = run(engine, image, workspace, "npm test")
    assert code == 0, output
    assert "pass 1" in output and "fail 0" in output, output
