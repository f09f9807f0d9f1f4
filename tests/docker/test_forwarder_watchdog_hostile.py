"""Red team: an agent (the same uid as the forwarder, no capabilities) tries to keep its sandbox
running after the action, and so the gateway, is gone.

Each attack is a script run behind the forwarder as the container's init, as the sandbox runs it;
the gateway is killed 1 s after the script prints ``started``; the container must end (137, the
forwarder's kill) within 15 s of that (45 s for an attack that leaves the check unable to tell). What each attack
saw inside (EPERM, ...) is printed.
"""

from __future__ import annotations

import uuid

import pytest

from codeagent.sandbox.engine import CLI_DIR, ContainerSpec, Limits, Mount
from tests.docker.test_forwarder_watchdog import run_until_the_gateway_goes, start_gateway

pytestmark = pytest.mark.docker

HOLD = "echo started; sleep 600; echo 'outlived the gateway'"

PTRACE = r"""
python3 - <<'EOF'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for name, request in (("PTRACE_ATTACH", 16), ("PTRACE_SEIZE", 0x4206)):
    result = libc.ptrace(request, 1, 0, 0)
    print("attack:", name, result, os.strerror(ctypes.get_errno()), flush=True)
for path in ("/proc/1/mem", "/proc/1/fd/2", "/proc/1/oom_score_adj", "/proc/1/timerslack_ns", "/proc/1/environ"):
    try:  # timerslack_ns opens (mode 0666) but a write needs CAP_SYS_NICE: a huge slack would delay the check
        with open(path, "r+b", buffering=0) as file:
            file.write(b"4000000000")
        print("attack: wrote", path, flush=True)
    except OSError as error:
        print("attack:", path, error.strerror, flush=True)
EOF
""" + HOLD

SIGNALS = r"""
trap '' TERM INT HUP
python3 - <<'EOF'
import os, signal
denied = []
for sig in range(1, 65):
    if sig in (32, 33):
        continue
    try:
        os.kill(1, sig)
    except OSError as error:
        denied.append((sig, error.strerror))
print("attack: every signal sent to 1; refused:", denied, flush=True)
EOF
python3 -c '
import os, signal
while True:
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGSTOP, signal.SIGKILL):
        os.kill(1, sig)
' &
""" + HOLD

FORK_BOMB = r"""
python3 - <<'EOF'
import os, time
count = 0
while True:
    try:
        pid = os.fork()
    except OSError as error:
        print("attack: forked", count, "then", error.strerror, flush=True)
        break
    if pid == 0:
        os.setsid()
        time.sleep(600)
        os._exit(0)
    count += 1
EOF
""" + HOLD

STARVE = r"""
python3 - <<'EOF'
import os
os.setpriority(os.PRIO_PROCESS, 1, 19)
print("attack: PID 1 nice", os.getpriority(os.PRIO_PROCESS, 1), flush=True)
try:
    os.sched_setscheduler(1, os.SCHED_IDLE, os.sched_param(0))
    print("attack: PID 1 policy", os.sched_getscheduler(1), "(5 = SCHED_IDLE)", flush=True)
except OSError as error:
    print("attack: SCHED_IDLE refused:", error.strerror, flush=True)
EOF
for i in 1 2 3; do sh -c 'while :; do :; done' & done
""" + HOLD

DAEMONS = r"""
trap '' TERM INT HUP
# a double-forked daemon in a session of its own, ignoring the forwarded signals
setsid sh -c 'trap "" TERM INT HUP; (trap "" TERM INT HUP; sleep 600) & exit 0' &
# a subreaper with a child of its own
python3 -c '
import ctypes, os, time
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
if os.fork() == 0:
    time.sleep(600); os._exit(0)
time.sleep(600)
' &
# zombies left under a live parent, and a stream of orphans re-parented to PID 1
python3 -c '
import os, time
for _ in range(50):
    if os.fork() == 0: os._exit(0)
time.sleep(600)
' &
sh -c 'while :; do (sleep 0.01 &) ; done' &
""" + HOLD

GATEWAY_PATH = r"""
for try in "touch /run/codeagent/x" "mkdir /run/codeagent/d" "rm -f /run/codeagent/gateway.sock" \
           "mv /run/codeagent /run/moved" "touch /run/x" "ln -s /tmp/fake.sock /run/codeagent/fake" \
           "unshare -m true" "unshare -Ur true"; do
  echo "attack: $try -> $($try 2>&1 || true)"
done
python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.bind("/run/codeagent/gateway.sock")
    print("attack: bound the gateway's path", flush=True)
except OSError as error:
    print("attack: bind over the gateway's path:", error.strerror, flush=True)
EOF
""" + HOLD

RLIMIT_NOFILE = r"""
python3 - <<'EOF'
import resource
resource.prlimit(1, resource.RLIMIT_NOFILE, (0, 0))
print("attack: PID 1 open files now", resource.prlimit(1, resource.RLIMIT_NOFILE), flush=True)
EOF
""" + HOLD
"""The forwarder's check opens a socket each time; `prlimit(2)` on another process needs only the same
uid (no ptrace access, so not being dumpable does not help): with its RLIMIT_NOFILE at 0, the socket
fails with EMFILE, which the check takes as "says nothing about the gateway", forever."""

MEMORY = r"""
# the tmpfs is charged to the container and not freed by the OOM killer; hogs refill the rest
head -c 150m /dev/zero > /tmp/fill 2>/dev/null
for i in 1 2 3 4; do
  sh -c 'while :; do python3 -c "b = bytearray(60 << 20); import time; time.sleep(600)"; done' &
done
""" + HOLD


def spec_for(image: str, socket_dir, script: str, limits: Limits) -> ContainerSpec:
    return ContainerSpec(
        image=image, user="1001:1001", workdir="/tmp", env={}, limits=limits,
        command=[f"{CLI_DIR}/codeagent-forward", "3128", "/run/codeagent/gateway.sock", "--", "sh", "-c", script],
        mounts=(Mount(str(socket_dir), "/run/codeagent", read_only=True),),
        labels={"codeagent.test": uuid.uuid4().hex}, init=False)


CASES = [
    pytest.param(PTRACE, Limits(timeout_s=60), 15, id="ptrace-and-proc-mem"),
    pytest.param(SIGNALS, Limits(timeout_s=60), 15, id="every-signal-and-a-flood-at-pid-1"),
    pytest.param(FORK_BOMB, Limits(timeout_s=60), 15, id="fork-bomb-to-the-pids-limit"),
    pytest.param(STARVE, Limits(timeout_s=60, cpus=1.0), 15, id="pid-1-sched-idle-and-busy-loops"),
    pytest.param(DAEMONS, Limits(timeout_s=60), 15, id="daemons-subreapers-zombies-orphans"),
    pytest.param(GATEWAY_PATH, Limits(timeout_s=60), 15, id="gateway-path"),
    pytest.param(MEMORY, Limits(timeout_s=60, memory="256m", tmp_size="200m"), 15, id="memory-at-the-limit"),
    # Every check then fails (EMFILE): ten checks that cannot tell (30 s) end the sandbox too.
    pytest.param(RLIMIT_NOFILE, Limits(timeout_s=90), 45, id="prlimit-nofile-of-pid-1"),
]


@pytest.mark.parametrize("script, limits, within_s", CASES)
def test_a_hostile_agent_does_not_outlive_the_gateway(docker_engine, dev_action_image, tmp_path, script, limits,
                                                      within_s):
    socket_dir = tmp_path / "gateway"
    gateway = start_gateway(socket_dir / "gateway.sock")
    spec = spec_for(dev_action_image, socket_dir, script, limits)
    try:
        exit_, stopped_after, seen = run_until_the_gateway_goes(docker_engine, spec, gateway, after_s=1)
    finally:
        for container in docker_engine.containers.list(
                all=True, filters={"label": f"codeagent.test={spec.labels['codeagent.test']}"}):
            container.remove(force=True)
    print("\n".join(seen))
    print(f"exit {exit_.exit_code}, timed out {exit_.timed_out}, oom {exit_.oom_killed}, "
          f"ended {stopped_after:.1f} s after the gateway; stderr tail: {exit_.stderr_tail[-3:]}")
    assert exit_.exit_code == 137 and not exit_.timed_out
    assert stopped_after < within_s, f"the sandbox ran on for {stopped_after:.0f} s"
    assert any("the gateway at /run/codeagent/gateway.sock is gone" in line for line in exit_.stderr_tail)
