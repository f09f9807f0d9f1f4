"""The sandbox ends with the action: when the gateway that served it is gone, the forwarder stops it.

A runner that cancels or loses a job kills the action's container at once (SIGKILL): no `finally`
removes the sandbox, which would otherwise run on, unwatched, until its wall-clock limit (30
minutes by default). Here the gateway runs in a process of its own, which is killed the same way
while a sandbox (the action image, the forwarder in front of a long command) runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from codeagent.sandbox.engine import CLI_DIR, ContainerSpec, Engine, Limits, Mount, SandboxExit

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY = """
import sys, time
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream
with Gateway(sys.argv[1], Upstream(VENDORS["anthropic"], "http://127.0.0.1:9", "k"), EgressPolicy(), Ledger()):
    print("serving", flush=True)
    time.sleep(3600)
"""
SANDBOX = "sleep 600 & echo started; sleep 600; echo 'outlived the gateway'"


def run_until_the_gateway_goes(docker_engine, spec: ContainerSpec, gateway: subprocess.Popen, after_s: float,
                               remove_socket: bool = False) -> tuple[SandboxExit, float, list[str]]:
    """Run ``spec``; ``after_s`` after it prints ``started``, kill ``gateway`` as a runner kills the action (and
    remove its socket, with ``remove_socket``). How it ended, how long after the gateway went, its output."""
    gone_at: list[float] = []
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "started":
            time.sleep(after_s)
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.wait()
            if remove_socket:
                Path(spec.mounts[0].source, "gateway.sock").unlink()
            gone_at.append(time.monotonic())

    try:
        exit_ = Engine(docker_engine).run(spec, on_line)
    finally:
        gateway.kill()
        gateway.wait()
    return exit_, time.monotonic() - gone_at[0], seen


def start_gateway(socket_path: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", GATEWAY, str(socket_path)], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "serving"
    return process


HOSTILE = """
forwarder=codeagent-; forwarder=${forwarder}forward  # not in this script's own command line
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  [ "$pid" = "$$" ] && continue
  case "$(tr '\\0' ' ' < $proc/cmdline 2>/dev/null)" in
    *"$forwarder"*) kill -9 "$pid" 2>/dev/null;;
  esac
done
kill -9 1 2>/dev/null; kill -STOP 1 2>/dev/null
setsid sh -c 'sleep 6; kill -STOP $0' "$$" &
echo started
sleep 600; echo 'outlived the gateway'
"""
"""What an agent would try: kill every process of the forwarder's (the same user's), stop and kill
the container's first process, and stop the command itself in a while (a stopped process never
ends on its own), from a session of its own."""


def forwarded(image: str, socket_dir: Path, script: str, init: bool) -> ContainerSpec:
    return ContainerSpec(
        image=image, user="1001:1001", workdir="/tmp", env={}, limits=Limits(timeout_s=120),
        command=[f"{CLI_DIR}/codeagent-forward", "3128", "/run/codeagent/gateway.sock", "--", "sh", "-c", script],
        mounts=(Mount(str(socket_dir), "/run/codeagent", read_only=True),),
        labels={"codeagent.test": uuid.uuid4().hex}, init=init)


@pytest.mark.parametrize("gone, script, forwarder_is_init", [
    ("killed", SANDBOX, True), ("removed", SANDBOX, True), ("killed", HOSTILE, True), ("killed", SANDBOX, False)],
    ids=["killed", "removed", "killed-by-a-hostile-agent", "under-dockers-init"])
def test_the_sandbox_stops_within_seconds_once_its_gateway_is_gone(docker_engine, dev_action_image, tmp_path, gone,
                                                                   script, forwarder_is_init):
    """``killed``: the socket is left behind and refuses connections; ``removed``: it vanished with
    the state folder the runner deleted. The forwarder is the container's first process, as the sandbox
    runs it, and then out of the reach of an agent that runs as the same user (`HOSTILE`); under
    Docker's init, it kills the command's process group."""
    socket_dir = tmp_path / "gateway"
    gateway = start_gateway(socket_dir / "gateway.sock")
    spec = forwarded(dev_action_image, socket_dir, script, init=not forwarder_is_init)
    exit_, stopped_after, _ = run_until_the_gateway_goes(docker_engine, spec, gateway, after_s=4,
                                                         remove_socket=gone == "removed")

    assert exit_.exit_code == 137 and not exit_.timed_out  # killed, not run to its end nor to the limit
    assert stopped_after < 15, f"the sandbox ran on for {stopped_after:.0f} s"
    assert any("the gateway at /run/codeagent/gateway.sock is gone" in line for line in exit_.stderr_tail)


def test_as_init_it_ends_with_the_commands_status_and_passes_signals_on(docker_engine, dev_action_image, tmp_path):
    socket_dir = tmp_path / "gateway"
    gateway = start_gateway(socket_dir / "gateway.sock")
    try:
        plain = Engine(docker_engine).run(forwarded(dev_action_image, socket_dir, "echo done; exit 3", init=False),
                                          lambda line: None)
        spec = forwarded(dev_action_image, socket_dir,
                         "trap 'echo got TERM; exit 5' TERM; echo started; sleep 60 & wait", init=False)
        seen: list[str] = []

        def on_line(line: str) -> None:
            seen.append(line)
            if line == "started":
                [container] = docker_engine.containers.list(
                    filters={"label": f"codeagent.test={spec.labels['codeagent.test']}"})
                container.kill(signal="SIGTERM")  # as `docker stop` does

        signalled = Engine(docker_engine).run(spec, on_line)
    finally:
        gateway.kill()
        gateway.wait()
    assert plain.exit_code == 3
    assert signalled.exit_code == 5 and seen == ["started", "got TERM"]
