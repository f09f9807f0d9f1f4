"""codeagent.sandbox.engine against the real Docker engine: streaming, limits, no network, cleanup, host paths.

The sandbox image here is the local base image (or the action image) running a small shell or
Python command in place of the agent's CLI; the image's entrypoint is overridden either way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import docker
import pytest

from codeagent.errors import SandboxError
from codeagent.sandbox.engine import ContainerSpec, Engine, Limits, Mount, SandboxExit
from codeagent.sandbox.own_container import SelfContainer

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "codeagent-base:bookworm"
RUNNER_UID = 1001
"""The runner's user on GitHub-hosted runners: it owns the workspace."""
LABEL = "codeagent.test"


# -- fixtures and helpers --


@pytest.fixture(scope="module")
def client(docker_engine) -> docker.DockerClient:
    return docker_engine


@pytest.fixture(scope="module")
def action_image(dev_action_image) -> str:
    return dev_action_image


@pytest.fixture
def label(client):
    """A label for this test's containers; none of them may be left at the end."""
    value = uuid.uuid4().hex
    yield {LABEL: value}
    left = containers_with(client, value)
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A checkout-like directory owned by the runner's user, as on a hosted runner."""
    path = tmp_path / "workspace"
    path.mkdir()
    os.chown(path, RUNNER_UID, RUNNER_UID)
    return path


@pytest.fixture(scope="module")
def sandbox(client) -> Engine:
    """The engine as the tests' process sees it: outside a container, so no path translation."""
    return Engine(client)


def containers_with(client: docker.DockerClient, value: str) -> list:
    """Containers, running or not, that carry this test's label."""
    return client.containers.list(all=True, filters={"label": f"{LABEL}={value}"})


def spec(label: dict, workspace: Path, command: list[str], image: str = BASE_IMAGE, env: dict | None = None,
         user: str = f"{RUNNER_UID}:{RUNNER_UID}", mounts: tuple[Mount, ...] = (), **limits) -> ContainerSpec:
    """A container on the base image, as the runner's user, in ``workspace`` (mounted), with ``limits``."""
    return ContainerSpec(image=image, command=command, user=user, workdir=str(workspace), env=env or {},
                         mounts=(Mount(str(workspace), str(workspace)), *mounts), limits=Limits(**limits),
                         labels=label)


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def py(code: str) -> list[str]:
    return ["python3", "-c", textwrap.dedent(code)]


def run(sandbox: Engine, spec: ContainerSpec, should_stop=lambda: False) -> tuple[SandboxExit, list[str], float]:
    """Run ``spec``; its result, the stdout lines and the wall time."""
    lines: list[str] = []
    started = time.monotonic()
    result = sandbox.run(spec, lines.append, should_stop)
    return result, lines, time.monotonic() - started


# -- streaming and exit --


def test_stdout_reaches_on_line_whole_and_in_order_stderr_goes_to_the_tail(sandbox, label, workspace):
    command = py("""
        import sys
        for i in range(500):
            print(f"line {i}")
        print("x" * 200_000)
        sys.stderr.write("a warning on stderr\\n")
        sys.stdout.write("the last line has no newline")
    """)
    result, lines, _ = run(sandbox, spec(label, workspace, command))
    assert lines == [f"line {i}" for i in range(500)] + ["x" * 200_000, "the last line has no newline"]
    assert result == SandboxExit(exit_code=0, timed_out=False, oom_killed=False, stderr_tail=("a warning on stderr",))


def test_a_flood_of_output_is_read_in_linear_time_and_capped(sandbox, label, workspace):
    """40 MB without a newline, then lines: the huge line is cut, nothing takes quadratic time."""
    command = py("""
        import sys
        sys.stdout.write("x" * (40 * 2**20))
        sys.stdout.write("\\nafter the flood\\n")
    """)
    result, lines, elapsed = run(sandbox, spec(label, workspace, command))
    assert [len(line) for line in lines] == [2**20, len("after the flood")] and lines[-1] == "after the flood"
    assert result.cut_lines == 1 and elapsed < 30


def test_output_faster_than_the_reader_is_never_lost_to_the_logs_rotation(sandbox, label, workspace):
    """80 MB of lines while the reader waits: more than the container's log keeps (64 MB, one file), so a
    reader of the log lost lines and the last one (the CLI's result) with them; the attach stream holds
    the writer back instead."""
    command = py("""
        import sys
        line = "y" * 999 + "\\n"
        for _ in range(80 * 1024):
            sys.stdout.write(line)
        sys.stdout.write("the last line\\n")
    """)
    lines: list[str] = []

    def slow_reader(line: str) -> None:
        if not lines:
            time.sleep(8)  # the writer is done long before the reader starts
        lines.append(line)

    result = sandbox.run(spec(label, workspace, command), slow_reader)
    assert result.exit_code == 0 and len(lines) == 80 * 1024 + 1 and lines[-1] == "the last line"


def test_lines_arrive_while_the_container_still_runs(sandbox, label, workspace):
    arrivals: dict[str, float] = {}
    sandbox.run(spec(label, workspace, sh("echo first; sleep 2; echo second")),
                lambda line: arrivals.setdefault(line, time.monotonic()))
    assert list(arrivals) == ["first", "second"]
    assert arrivals["second"] - arrivals["first"] > 1.5


def test_the_exit_code_comes_back(sandbox, label, workspace):
    result, lines, _ = run(sandbox, spec(label, workspace, sh("echo failing; echo why >&2; exit 7")))
    assert lines == ["failing"]
    assert result == SandboxExit(exit_code=7, timed_out=False, oom_killed=False, stderr_tail=("why",))


def test_an_image_that_cannot_be_pulled_is_a_sandbox_error(sandbox, label, workspace):
    with pytest.raises(SandboxError, match="sandbox-image"):
        sandbox.ensure_image("127.0.0.1:9/no-such-image:1")


def test_the_sandbox_has_no_network_at_all(sandbox, label, workspace):
    """network_mode none: a listener on the host's loopback, the metadata address and DNS are all out of reach."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    command = py(f"""
        import socket, time
        for host, port in [("127.0.0.1", {port}), ("169.254.169.254", 80), ("172.17.0.1", {port})]:
            started = time.monotonic()
            try:
                socket.create_connection((host, port), timeout=5)
                print(host, "reached")
            except OSError as error:
                print(host, "refused in", round(time.monotonic() - started, 2))
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("dns works")
        except OSError:
            print("no dns")
    """)
    try:
        _, lines, _ = run(sandbox, spec(label, workspace, command))
    finally:
        listener.close()
    assert [line.split()[1] for line in lines[:3]] == ["refused"] * 3, lines
    assert all(float(line.split()[-1]) < 1 for line in lines[:3]), lines  # fails at once, never hangs
    assert lines[3] == "no dns"


# -- what the container gets --


def test_only_the_given_env_reaches_the_container(client, sandbox, label, workspace, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_must_not_leak")
    monkeypatch.setenv("CODEAGENT_CANARY", "caller only")
    given = {"ANTHROPIC_API_KEY": "sk-ant-test", "CODEAGENT_NOTE": "spaces and = signs"}
    inspected: list[list[str]] = []
    seen: dict[str, str] = {}

    def on_line(line: str) -> None:
        inspected.append(containers_with(client, label[LABEL])[0].attrs["Config"]["Env"])
        seen.update(json.loads(line))

    sandbox.run(spec(label, workspace, py("import json, os; print(json.dumps(dict(os.environ)))"), env=given),
                on_line)
    image_env = client.images.get(BASE_IMAGE).attrs["Config"]["Env"]
    assert sorted(inspected[0]) == sorted(image_env + [f"{k}={v}" for k, v in given.items()])
    # Docker itself adds HOSTNAME, and HOME for a user without a passwd entry.
    assert set(seen) == {e.split("=", 1)[0] for e in image_env} | set(given) | {"HOSTNAME", "HOME"}
    assert {k: seen[k] for k in given} == given


def test_runs_as_the_given_user_in_the_bind_mounted_workspace(sandbox, label, workspace):
    (workspace / "from-host.txt").write_text("seeded by the runner\n")
    command = sh("id -u; id -g; pwd; cat from-host.txt; echo written in the sandbox > made.txt")
    result, lines, _ = run(sandbox, spec(label, workspace, command, user=f"{RUNNER_UID}:4242"))
    assert result.exit_code == 0
    assert lines == [str(RUNNER_UID), "4242", str(workspace), "seeded by the runner"]
    made = workspace / "made.txt"
    assert made.read_text() == "written in the sandbox\n"
    assert (made.stat().st_uid, made.stat().st_gid) == (RUNNER_UID, 4242)


# -- limits and stopping --


def test_the_wall_clock_limit_kills_it(sandbox, label, workspace):
    result, lines, elapsed = run(sandbox, spec(label, workspace, sh("echo started; sleep 60"), timeout_s=2))
    assert lines == ["started"]
    assert result.timed_out
    assert result.exit_code == 137
    assert 2 <= elapsed < 6


def test_should_stop_stops_it(sandbox, label, workspace):
    lines: list[str] = []
    started = time.monotonic()
    result = sandbox.run(spec(label, workspace, sh("echo working; sleep 60")), lines.append, lambda: bool(lines))
    assert not result.timed_out and result.exit_code == 137
    assert time.monotonic() - started < 5


def test_the_memory_limit_is_enforced(sandbox, label, workspace):
    command = py("""
        hog = b"x" * (256 * 2**20)
        print("survived with", len(hog))
    """)
    result, lines, _ = run(sandbox, spec(label, workspace, command, memory="64m"))
    assert lines == []
    assert result.oom_killed or result.exit_code != 0


def test_the_pids_limit_is_enforced(sandbox, label, workspace):
    command = py("""
        import os, time
        children = 0
        try:
            while children < 200:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
        except OSError as error:
            print("fork refused after", children, error.strerror)
        else:
            print("forked", children)
    """)
    result, lines, elapsed = run(sandbox, spec(label, workspace, command, pids=32))
    words = lines[-1].split()
    assert lines[-1].startswith("fork refused after"), lines
    assert int(words[3]) < 32
    assert elapsed < 10


def test_the_cpu_limit_is_enforced(sandbox, label, workspace):
    """Two busy processes for 3 s use about 1.5 s of CPU under a 0.5 limit (6 s without one)."""
    command = sh("""
        for i in 1 2; do (while :; do :; done) & done
        sleep 3
        if [ -f /sys/fs/cgroup/cpu.stat ]; then
            awk '/usage_usec/ {print $2 / 1e6}' /sys/fs/cgroup/cpu.stat
        else
            awk '{print $1 / 1e9}' /sys/fs/cgroup/cpuacct/cpuacct.usage
        fi
    """)
    result, lines, _ = run(sandbox, spec(label, workspace, command, cpus=0.5))
    cpu_seconds = float(lines[-1])
    assert 0.5 < cpu_seconds < 2.2, cpu_seconds


def test_scratch_space_is_limited(sandbox, label, workspace):
    """/tmp is a tmpfs of `tmp_size`: writing past it fails instead of filling the runner's disk."""
    command = sh("dd if=/dev/zero of=/tmp/big bs=1M count=64 2>&1; wc -c < /tmp/big")
    result, lines, _ = run(sandbox, spec(label, workspace, command, tmp_size="16m"))
    assert "No space left on device" in "\n".join(lines), lines
    assert int(lines[-1]) == 16 * 2**20  # 16 MiB written of the 64 asked for


# -- cleanup in every outcome --


def test_the_container_is_removed_after_a_normal_exit(client, sandbox, label, workspace):
    run(sandbox, spec(label, workspace, ["true"]))
    assert containers_with(client, label[LABEL]) == []


def test_the_container_is_removed_after_a_timeout(client, sandbox, label, workspace):
    result, _, _ = run(sandbox, spec(label, workspace, sh("sleep 60"), timeout_s=1))
    assert result.timed_out
    assert containers_with(client, label[LABEL]) == []


def test_the_container_is_removed_when_on_line_raises(client, sandbox, label, workspace):
    def on_line(line: str) -> None:
        raise ValueError(f"cannot parse {line!r}")

    started = time.monotonic()
    with pytest.raises(ValueError, match="cannot parse 'not json'"):
        sandbox.run(spec(label, workspace, sh("echo not json; sleep 60")), on_line)
    assert containers_with(client, label[LABEL]) == []
    assert time.monotonic() - started < 10


RUN_UNTIL_SIGNALLED = """
import signal, sys
from codeagent.errors import Cancelled
from codeagent.sandbox.engine import ContainerSpec, Engine, Mount

def cancel(signum, frame):
    raise Cancelled("cancelled")  # as codeagent/main.py does

signal.signal(signal.SIGTERM, cancel)  # as codeagent/main.py does
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
workdir, image, label = sys.argv[1:]
spec = ContainerSpec(image=image, command=["sh", "-c", "echo started; sleep 60"], user="1001:1001", workdir=workdir,
                     env={}, mounts=(Mount(workdir, workdir),), labels={"codeagent.test": label})
engine = Engine()
try:
    engine.run(spec, lambda line: print(line, flush=True))
except (Cancelled, KeyboardInterrupt) as error:
    print("interrupted by", type(error).__name__, flush=True)
    # Killed at once; removed once the run has saved what it can (removing can take long).
    [name] = engine._killed
    print("state", engine._docker.containers.get(name).status, flush=True)
    assert engine.remove_killed() == []
    sys.exit(143)
"""


@pytest.mark.parametrize(("signum", "exception"), [(signal.SIGTERM, "Cancelled"),
                                                   (signal.SIGINT, "KeyboardInterrupt")])
def test_the_container_is_removed_when_the_process_is_signalled(client, label, workspace, signum, exception):
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_UNTIL_SIGNALLED, str(workspace), BASE_IMAGE, label[LABEL]],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout.readline() == "started\n"
        assert len(containers_with(client, label[LABEL])) == 1
        process.send_signal(signum)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert rest == f"interrupted by {exception}\nstate exited\n"
    assert process.returncode == 143
    assert containers_with(client, label[LABEL]) == []


# -- host paths: what a sibling container must mount --


class _EngineOutsideContainers:
    """Enough of a docker client for ``Engine()`` to start; it knows no containers."""

    class api:
        @staticmethod
        def inspect_container(container_id: str):
            raise docker.errors.NotFound("no such container")

    def ping(self) -> bool:
        return True


def sandbox_in(mounts: list[tuple[str, str]] | None) -> Engine:
    """An engine that believes it runs in a container with ``mounts`` (None: on the host)."""
    engine = Engine(_EngineOutsideContainers())
    engine.own = None if mounts is None else SelfContainer("0" * 64, "sha256:action", tuple(mounts))
    return engine


RUNNER_MOUNTS = [  # longest destination first, as find_self_container sorts them
    ("/github/file_commands", "/home/runner/work/_temp/_runner_file_commands"),
    ("/var/run/docker.sock", "/var/run/docker.sock"),
    ("/github/workspace", "/home/runner/work/repo/repo"),
    ("/github/workflow", "/home/runner/work/_temp/_github_workflow"),
    ("/github/home", "/home/runner/work/_temp/_github_home"),
]


@pytest.mark.parametrize(("path", "host"), [
    ("/github/workspace", "/home/runner/work/repo/repo"),
    ("/github/workspace/", "/home/runner/work/repo/repo/"),
    ("/github/workspace/src/a.py", "/home/runner/work/repo/repo/src/a.py"),
    ("/github/home/.config", "/home/runner/work/_temp/_github_home/.config"),
])
def test_host_path_translates_through_the_runners_mounts(path, host):
    assert sandbox_in(RUNNER_MOUNTS).host_path(path) == host


def test_host_path_takes_the_longest_mount():
    sandbox = sandbox_in([("/github/workspace/sub", "/elsewhere"), ("/github", "/srv/github")])
    assert sandbox.host_path("/github/workspace/sub/x") == "/elsewhere/x"
    assert sandbox.host_path("/github/workspace/other") == "/srv/github/workspace/other"


@pytest.mark.parametrize("path", ["/github/workspace2/x", "/github", "/tmp/work"])
def test_host_path_refuses_a_path_on_no_mount(path):
    with pytest.raises(SandboxError, match="not on a volume the runner mounted"):
        sandbox_in(RUNNER_MOUNTS).host_path(path)


def test_host_path_is_the_path_itself_outside_a_container():
    assert sandbox_in(None).host_path("/github/workspace/x") == "/github/workspace/x"


FROM_INSIDE_THE_ACTION = """
import json, os, sys
from docker.client import DockerClient
from codeagent.sandbox.engine import ContainerSpec, Engine, Mount
from codeagent.sandbox.own_container import find_self_container

own = find_self_container(DockerClient.from_env())
sandbox = Engine()
lines = []
result = sandbox.run(ContainerSpec(
    image=own.image, command=["sh", "-c", "pwd; echo from the sibling > sibling.txt"], user="1001:1001",
    workdir="/github/workspace", env={}, mounts=(Mount("/github/workspace", "/github/workspace"),),
    labels={"codeagent.test": sys.argv[1]}), lines.append)
print(json.dumps({"id": own.id, "hostname": os.environ["HOSTNAME"],
                  "host_path": sandbox.host_path("/github/workspace/x"),
                  "exit_code": result.exit_code, "lines": lines}))
"""


@pytest.mark.parametrize("network_mode", ["bridge", "host"])
def test_from_inside_a_container_the_sibling_mounts_the_host_path(
        client, action_image, label, workspace, network_mode):
    action = client.containers.run(
        action_image, entrypoint=["/opt/codeagent/venv/bin/python", "-c", FROM_INSIDE_THE_ACTION, label[LABEL]],
        environment={"PYTHONPATH": "/src"}, network_mode=network_mode, labels=label, detach=True,
        volumes={str(REPO_ROOT): {"bind": "/src", "mode": "ro"},
                 "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                 str(workspace): {"bind": "/github/workspace", "mode": "rw"}},
    )
    try:
        status = action.wait(timeout=60)
        log = action.logs().decode()
    finally:
        action.remove(force=True)
    assert status["StatusCode"] == 0, log
    seen = json.loads(log.splitlines()[-1])
    assert seen["host_path"] == f"{workspace}/x"
    assert seen["id"] == action.id
    # With host networking HOSTNAME is the host's: only mountinfo names the container.
    assert seen["hostname"].startswith(action.id[:12]) == (network_mode == "bridge")
    assert (seen["exit_code"], seen["lines"]) == (0, ["/github/workspace"])
    sibling = workspace / "sibling.txt"
    assert sibling.read_text() == "from the sibling\n"
    assert sibling.stat().st_uid == RUNNER_UID


# -- the packer, started early --


def packer_setup(tmp_path: Path, action_image: str, label: dict):
    """A checkout of the runner's user with one commit, an output directory, and where the packer runs."""
    from codeagent.sandbox.packer import PACKER_CHECKOUT, PackerPlace

    workspace = tmp_path / "checkout"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "a.py").write_text("a = 1\n")
    git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    base = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    out = tmp_path / "out"
    out.mkdir()
    for path in [workspace, out, *workspace.rglob("*")]:
        os.chown(path, RUNNER_UID, RUNNER_UID, follow_symlinks=False)
    place = PackerPlace(action_image, f"{RUNNER_UID}:{RUNNER_UID}", workspace, workspace / ".git" / "index",
                        workspace / ".git" / "objects", out, 1.0, label, (f"{PACKER_CHECKOUT}/.git",))
    return workspace, base, out, place


def test_a_packer_started_early_packs_only_once_told_and_sees_what_came_after(client, sandbox, action_image,
                                                                              label, tmp_path):
    from codeagent.changes import Caps
    from codeagent.sandbox.packer import EarlyPacker, PackRequest, packer_spec

    workspace, base, out, place = packer_setup(tmp_path, action_image, label)
    request = PackRequest(base, time.time(), Caps(10**6, 10**7))
    early = EarlyPacker(lambda: sandbox.start(packer_spec(place, request, 3600)), request, out,
                        (RUNNER_UID, RUNNER_UID))
    time.sleep(2)  # started and waiting, as while the agent works
    assert [c.status for c in containers_with(client, label[LABEL])] == ["running"]
    assert not (out / "manifest.json").exists()
    (workspace / "src" / "late.py").write_text("written after the packer started\n")

    lines: list[str] = []
    exit_ = early.finish(request, lines.append)

    assert exit_ is not None and exit_.exit_code == 0, (lines, exit_)
    manifest = json.loads((out / "manifest.json").read_text())
    listed = subprocess.run(["git", "bundle", "list-heads", str(out / "change.bundle")], check=True,
                            capture_output=True, text=True).stdout
    assert manifest["commit"] and manifest["commit"] in listed
    git = ["git", "-c", "safe.directory=*", "-C", str(workspace)]
    subprocess.run([*git, "fetch", "-q", str(out / "change.bundle"), "refs/heads/change:refs/packed"], check=True)
    changed = subprocess.run([*git, "diff", "--name-only", base, "refs/packed"], check=True, capture_output=True,
                             text=True).stdout.split()
    assert changed == ["src/late.py"]
    assert containers_with(client, label[LABEL]) == []


def test_a_packer_started_early_for_other_arguments_is_removed_unread(client, sandbox, action_image, label, tmp_path):
    from codeagent.changes import Caps
    from codeagent.sandbox.packer import EarlyPacker, PackRequest, packer_spec

    workspace, base, out, place = packer_setup(tmp_path, action_image, label)
    request = PackRequest(base, time.time(), Caps(10**6, 10**7))
    early = EarlyPacker(lambda: sandbox.start(packer_spec(place, request, 3600)), request, out,
                        (RUNNER_UID, RUNNER_UID))
    (workspace / "src" / "b.py").write_text("b = 2\n")

    assert early.finish(PackRequest(base, request.since + 1, request.caps), lambda line: None) is None
    early.discard()  # as `packed_early` does whatever `finish` did
    assert containers_with(client, label[LABEL]) == [] and not (out / "manifest.json").exists()

    second = tmp_path / "second-out"
    second.mkdir()
    unused = EarlyPacker(lambda: sandbox.start(packer_spec(place, request, 3600)), request, second,
                         (RUNNER_UID, RUNNER_UID))
    unused.discard()  # the run ended before packing
    assert containers_with(client, label[LABEL]) == []
