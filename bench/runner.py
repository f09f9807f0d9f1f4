"""The runner emulator: check out, write the event, start a Docker container action.

It does what the GitHub runner does for ``uses: ./`` with ``runs: using: docker``
(actions/runner ContainerActionHandler + DockerCommandManager): the same host
directory layout under ``_work``, the same mounts, ``INPUT_*`` names and
``GITHUB_*`` variables, the workdir ``/github/workspace`` and the file commands.
The only difference: host networking, so the action and its sandbox reach the
loopback emulators.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml
from docker.errors import APIError, NotFound

RUNNER_UID = 1001
"""The runner user's uid on GitHub-hosted runners: it owns the workspace."""
CONTAINER_WORKSPACE = "/github/workspace"


CANCEL_SIGNALS = (("SIGINT", 7.5), ("SIGTERM", 2.5), ("SIGKILL", 0.0))
"""How the runner cancels a step: SIGINT, SIGTERM when it still runs 7.5 s later, a kill 2.5 s after that
(https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-workflow-runs/canceling-a-workflow#steps-github-takes-to-cancel-a-workflow-run)."""


@dataclass(frozen=True)
class ContainerRun:
    """What the runner saw of one container action step."""

    exit_code: int
    log: str
    duration_s: float
    container_name: str
    started_at: float
    """Epoch seconds when the container was started."""
    cancel: dict | None = None
    """When the step was cancelled: ``at_s`` (seconds after the start) and the ``signals`` sent, in order."""
    changed_paths: tuple[str, ...] = ()
    """Paths the step added or changed in its container's own file system (``docker diff``), mounts aside."""


class RunnerLayout:
    """The runner's host directories for one job, like /home/runner/work."""

    def __init__(self, root: Path, repository: str) -> None:
        name = repository.split("/")[1]
        self.root = root
        self.workspace = root / name / name
        self.temp = root / "_temp"
        self.home = self.temp / "_github_home"
        self.workflow = self.temp / "_github_workflow"
        self.file_commands = self.temp / "_runner_file_commands"
        self.event_path = self.workflow / "event.json"

    def create(self) -> None:
        for path in (self.home, self.workflow, self.file_commands):
            path.mkdir(parents=True, exist_ok=True)
        self.workspace.mkdir(parents=True, exist_ok=True)
        # The runner runs as its own user; its directories are world-usable here so
        # that the action (root) and later bench steps can both read them.
        for path in (self.root, self.temp, self.home, self.workflow, self.file_commands):
            path.chmod(0o777)


CHECKOUT_VERSIONS = ("v4", "v6")
"""How actions/checkout persists the token: v4 (and v5) in `.git/config`, v6 in a file of its own."""
CONTAINER_RUNNER_TEMP = "/github/runner_temp"
"""Where the runner (>= 2.329) mounts its temp directory into a container action."""


def checkout(layout: RunnerLayout, clone_url: str, server_url: str, token: str, ref: str = "main",
             sha: str | None = None, version: str = "v4") -> str:
    """Check out like actions/checkout (depth 1, persisted credentials); returns the sha.

    ``ref`` is a branch name, or ``refs/pull/N/merge`` (``sha`` its commit) as for the
    pull request events: fetched by sha and checked out detached, as actions/checkout does.
    ``version``: where the token is persisted (`persist_credentials`).
    """
    if version not in CHECKOUT_VERSIONS:
        raise ValueError(f"checkout: {version!r} is not one of {CHECKOUT_VERSIONS}")
    workspace = layout.workspace
    git = ["git", "-C", str(workspace)]
    if (workspace / ".git").is_dir():
        # A workspace an earlier job left (a self-hosted runner): actions/checkout cleans it and
        # updates it in place. The agent wrote in it: no hook, fsmonitor or submodule of its runs here.
        git = [*git, "-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
               "-c", "submodule.recurse=false"]
        subprocess.run([*git, "remote", "set-url", "origin", clone_url], check=True)
        subprocess.run([*git, "clean", "-ffdx", "-q"], check=True)
        subprocess.run([*git, "reset", "-q", "--hard", "HEAD"], check=True)
        for key in subprocess.run([*git, "config", "--local", "--name-only", "--get-regexp",
                                   r"^(http\..*extraheader|includeif\..*)$"], capture_output=True, text=True).stdout.split():
            subprocess.run([*git, "config", "--local", "--unset-all", key])
    else:
        subprocess.run(["git", "init", "-q", str(workspace)], check=True)
        subprocess.run([*git, "remote", "add", "origin", clone_url], check=True)
    persist_credentials(layout, server_url, token, version)
    if ref.startswith("refs/pull/"):
        remote_ref = "refs/remotes/pull/" + ref.removeprefix("refs/pull/")
        refspec, switch = f"+{sha}:{remote_ref}", ["checkout", "-q", "--progress", "--force", remote_ref]
    else:
        refspec = f"+refs/heads/{ref}:refs/remotes/origin/{ref}"
        switch = ["checkout", "-q", "--progress", "--force", "-B", ref, f"refs/remotes/origin/{ref}"]
    subprocess.run(
        [*git, "-c", "protocol.version=2", "fetch", "-q", "--no-tags", "--prune", "--no-recurse-submodules",
         "--depth=1", "origin", refspec],
        check=True,
    )
    subprocess.run([*git, *switch], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    _chown_tree(workspace, RUNNER_UID)
    # On a runner the runner's user checks out, and nothing changes the files' inode data after: the
    # index's stat data matches them. The chown above changed every ctime; without this refresh each
    # later `git status` would read every file again (50,000 files: 0.47 s, against 0.08 s).
    subprocess.run([*git, "-c", "safe.directory=*", "update-index", "-q", "--refresh"], check=True)
    os.chown(workspace / ".git" / "index", RUNNER_UID, RUNNER_UID)
    return sha


def persist_credentials(layout: RunnerLayout, server_url: str, token: str, version: str) -> None:
    """The token as actions/checkout leaves it for later steps, before it fetches.

    v4: an ``http.<server>/.extraheader`` in the checkout's ``.git/config``. v6
    (actions/checkout src/git-auth-helper.ts, ``configureToken``): the header in
    ``$RUNNER_TEMP/git-credentials-<uuid>.config``, included from ``.git/config`` by
    ``includeIf.gitdir:`` entries for the checkout as the host sees it and as a container
    action sees it (``/github/workspace/.git``, the file under ``/github/runner_temp``),
    each also for the checkout's worktrees.
    """
    header = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    key = f"http.{server_url.rstrip('/')}/.extraheader"
    config = ["git", "config", "--file"]
    if version == "v4":
        subprocess.run([*config, str(layout.workspace / ".git" / "config"), key, header], check=True)
        return
    credentials = layout.temp / f"git-credentials-{uuid.uuid4()}.config"
    subprocess.run([*config, str(credentials), key, header], check=True)
    os.chown(credentials, RUNNER_UID, RUNNER_UID)
    local = [*config, str(layout.workspace / ".git" / "config")]
    container = f"{CONTAINER_RUNNER_TEMP}/{credentials.name}"
    for git_dir, path in ((layout.workspace / ".git", str(credentials)), (f"{CONTAINER_WORKSPACE}/.git", container)):
        subprocess.run([*local, f"includeIf.gitdir:{git_dir}.path", path], check=True)
        subprocess.run([*local, f"includeIf.gitdir:{git_dir}/worktrees/*.path", path], check=True)


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)


def job_permissions(workflow: Path) -> dict[str, str]:
    """The workflow token's scopes a workflow file's top-level ``permissions:`` gives its jobs."""
    permissions = (yaml.safe_load(workflow.read_text()) or {}).get("permissions") or {}
    return {str(scope): str(level) for scope, level in permissions.items()}


def input_env(action_yml: Path, given: dict[str, str], expressions: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``INPUT_*`` as the runner sets them: every declared input (default applied), names upper-cased, hyphens kept.

    Returns the variables and the names the action does not declare (the runner warns
    about those, "Unexpected input(s)", and passes them on anyway).
    """
    declared = (yaml.safe_load(action_yml.read_text()) or {}).get("inputs") or {}
    env = {}
    for name, spec in declared.items():
        default = str((spec or {}).get("default", ""))
        value = given.get(name, expressions.get(default.replace(" ", ""), default))
        env[_input_name(name)] = value
    unexpected = [name for name in given if name not in declared]
    for name in unexpected:
        env[_input_name(name)] = given[name]
    return env, unexpected


def _input_name(name: str) -> str:
    return "INPUT_" + name.replace(" ", "_").upper()


def github_env(layout: RunnerLayout, *, repository: str, event_name: str, actor: str, sha: str,
               api_url: str, server_url: str, graphql_url: str, run_id: int, run_number: int = 1,
               ref: str = "refs/heads/main") -> tuple[dict[str, str], dict[str, Path]]:
    """The ``GITHUB_*``/``RUNNER_*`` variables and the file-command files behind them.

    ``ref``: ``refs/heads/<default branch>`` for issue comments and manual runs,
    ``refs/pull/N/merge`` for the pull request review events.
    """
    files = {
        key: layout.file_commands / f"{prefix}_{uuid.uuid4()}"
        for key, prefix in (("GITHUB_OUTPUT", "set_output"), ("GITHUB_STEP_SUMMARY", "step_summary"),
                            ("GITHUB_ENV", "set_env"), ("GITHUB_PATH", "add_path"), ("GITHUB_STATE", "save_state"))
    }
    for path in files.values():
        path.touch()
        path.chmod(0o666)
    env = {
        "HOME": "/github/home", "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_ACTION": "__self",
        "GITHUB_ACTION_PATH": "", "GITHUB_ACTOR": actor, "GITHUB_TRIGGERING_ACTOR": actor,
        "GITHUB_API_URL": api_url, "GITHUB_SERVER_URL": server_url, "GITHUB_GRAPHQL_URL": graphql_url,
        "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_JOB": "codeagent", "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.removeprefix("refs/heads/").removeprefix("refs/pull/"),
        "GITHUB_REF_TYPE": "branch", "GITHUB_REPOSITORY": repository,
        "GITHUB_REPOSITORY_OWNER": repository.split("/")[0], "GITHUB_RUN_ID": str(run_id),
        "GITHUB_RUN_NUMBER": str(run_number), "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SHA": sha,
        "GITHUB_WORKFLOW": "codeagent", "GITHUB_WORKFLOW_REF": f"{repository}/.github/workflows/codeagent.yml@{ref}",
        "GITHUB_WORKSPACE": CONTAINER_WORKSPACE, "GITHUB_RETENTION_DAYS": "90",
        "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "codeagent-bench",
        "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TEMP": str(layout.temp),
        "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache", "RUNNER_WORKSPACE": str(layout.workspace.parent),
    }
    env.update({key: "/github/file_commands/" + path.name for key, path in files.items()})
    return env, files


def run_container_action(client: docker.DockerClient, image: str, layout: RunnerLayout, env: dict[str, str],
                         timeout_s: float = 900, cancel: threading.Event | None = None,
                         cancel_after_s: float | None = None) -> ContainerRun:
    """Start the action image as the runner does and wait for it.

    The step is cancelled as the runner cancels a job (``CANCEL_SIGNALS``) when ``cancel`` is set
    or ``cancel_after_s`` seconds after the start.
    """
    name = f"codeagent_action_{uuid.uuid4().hex[:12]}"
    volumes = {
        "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
        str(layout.home): {"bind": "/github/home", "mode": "rw"},
        str(layout.workflow): {"bind": "/github/workflow", "mode": "rw"},
        str(layout.file_commands): {"bind": "/github/file_commands", "mode": "rw"},
        str(layout.workspace): {"bind": CONTAINER_WORKSPACE, "mode": "rw"},
        str(layout.temp): {"bind": CONTAINER_RUNNER_TEMP, "mode": "rw"},
    }
    container = client.containers.create(
        image, name=name, environment=env, volumes=volumes, working_dir=CONTAINER_WORKSPACE,
        network_mode="host", labels={"codeagent.bench": "action"},
    )
    canceller = _Canceller(container, cancel or threading.Event(), cancel_after_s)
    started_at, started = time.time(), time.monotonic()
    try:
        container.start()
        canceller.start(started)
        try:
            status = container.wait(timeout=timeout_s)
            exit_code = int(status.get("StatusCode", -1))
        except Exception:  # the wait timed out: stop it as the runner's job timeout would
            container.stop(timeout=10)
            exit_code = 124
        duration = time.monotonic() - started
        canceller.exited()
        log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        changed = tuple(change["Path"] for change in container.diff() or [] if change.get("Kind") in (0, 1))
        return ContainerRun(exit_code, log, duration, name, started_at, canceller.record, changed)
    finally:
        canceller.exited()
        container.remove(force=True)


class _Canceller:
    """Cancels a running container action as the runner does, once asked to (or after a delay)."""

    def __init__(self, container, trigger: threading.Event, after_s: float | None) -> None:
        self._container, self._trigger, self._after_s = container, trigger, after_s
        self._exited = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._started = 0.0
        self.record: dict | None = None

    def start(self, started: float) -> None:
        self._started = started
        if self._after_s is not None:
            timer = threading.Timer(self._after_s, self._trigger.set)
            timer.daemon = True
            timer.start()
        self._thread.start()

    def exited(self) -> None:
        self._exited.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._trigger.wait(0.05):
            if self._exited.is_set():
                return
        if self._exited.is_set():
            return
        self.record = {"at_s": round(time.monotonic() - self._started, 2), "signals": []}
        for signal, grace in CANCEL_SIGNALS:
            try:
                self._container.kill(signal=signal)
            except (APIError, NotFound):  # it exited meanwhile
                return
            self.record["signals"].append(signal)
            if self._exited.wait(grace):
                return


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file: ``name=value`` lines and ``name<<DELIM`` blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            while index < len(lines) and lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def build_action_image(repo_root: Path, tag: str, base_image: str) -> None:
    """``docker build`` the action as the runner does for ``runs.image: Dockerfile``."""
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "--build-arg", f"BASE_IMAGE={base_image}", str(repo_root)],
        check=True, stdout=subprocess.DEVNULL,
    )


def remove_tree(path: Path) -> None:
    """Remove a runner layout, including files the containers wrote as other users, and trees deeper
    than Python's recursion (a hostile agent's): `rm -rf` walks them without recursing."""
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)  # where there is no rm
