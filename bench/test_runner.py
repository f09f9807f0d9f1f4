"""The runner emulator: input and output files on their own, and a container action run for real.

The action under test here is a throwaway probe image that reports what it sees
(user, workdir, environment, mounts) and writes the file commands, so the bench's
runner can be checked against what the GitHub runner does for ``runs: using: docker``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import textwrap
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest
import yaml

from bench.github.emulator import GitHubEmulator
from bench.runner import (
    RUNNER_UID,
    RunnerLayout,
    checkout,
    github_env,
    input_env,
    read_outputs,
    run_container_action,
)

BASE_IMAGE = "codeagent-base:bookworm"
REPOSITORY = "octo-org/probe"
TOKEN = "ghs_" + "0123456789abcdef" * 2
EXPRESSIONS = {"${{github.token}}": TOKEN}

ACTION_YML = """\
name: probe
description: reports what the runner gave it
inputs:
  max-turns:
    description: a default the runner applies
    default: "30"
  github-token:
    description: the workflow token unless given
    default: ${{ github.token }}
  model:
    description: no default
  exit-status:
    description: the probe exits with it
    default: "0"
  wait-for-cancel:
    description: when set, the probe waits to be cancelled (SIGINT is only logged, SIGTERM ends it)
runs:
  using: docker
  image: Dockerfile
"""

# bash, not sh: dash drops variables whose names are not shell names (INPUT_MAX-TURNS)
# from the environment of the commands it starts; bash passes them on.
PROBE_ENTRYPOINT = """\
#!/bin/bash
if [ -n "$(printenv INPUT_WAIT-FOR-CANCEL)" ]; then
  trap 'echo "got SIGINT, going on"' INT
  trap 'echo "got SIGTERM, stopping"; exit 143' TERM
  echo "waiting"
  while true; do sleep 0.1; done
fi
echo "== id"; id
echo "== pwd"; pwd
echo "== env"; env | sort
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== docker.sock"; test -S /var/run/docker.sock && echo socket
echo "== event"; cat "$GITHUB_EVENT_PATH"; echo
echo "== workspace"; cat from-runner.txt
echo "written by the action" > from-action.txt
echo "kept in the runner's home" > "$HOME/from-action.txt"
echo "greeting=hello" >> "$GITHUB_OUTPUT"
{ echo "notes<<EOF"; echo "line one"; echo "line two"; echo "EOF"; } >> "$GITHUB_OUTPUT"
echo "### Probe summary" >> "$GITHUB_STEP_SUMMARY"
exit "$(printenv INPUT_EXIT-STATUS)"
"""

RUNNER_MOUNTS = {"/github/workspace", "/github/home", "/github/workflow", "/github/file_commands",
                 "/run/docker.sock"}
"""Mount points as mountinfo shows them: in Debian images /var/run is a link to /run."""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- input_env: INPUT_* as the runner sets them --


def test_input_env_applies_defaults_keeps_hyphens_and_passes_undeclared_inputs_on(tmp_path):
    action_yml = write(tmp_path / "action.yml", ACTION_YML)
    env, unexpected = input_env(action_yml, {"model": "sonnet", "max-turns": "5", "not-declared": "x"},
                                EXPRESSIONS)
    assert env == {
        "INPUT_MAX-TURNS": "5",
        "INPUT_GITHUB-TOKEN": TOKEN,
        "INPUT_MODEL": "sonnet",
        "INPUT_EXIT-STATUS": "0",
        "INPUT_WAIT-FOR-CANCEL": "",
        "INPUT_NOT-DECLARED": "x",
    }
    assert unexpected == ["not-declared"]


def test_input_env_sets_declared_inputs_without_default_to_empty(tmp_path):
    env, unexpected = input_env(write(tmp_path / "action.yml", ACTION_YML), {}, EXPRESSIONS)
    assert (env["INPUT_MODEL"], env["INPUT_MAX-TURNS"], unexpected) == ("", "30", [])


def test_input_env_replaces_spaces_in_names(tmp_path):
    action_yml = write(tmp_path / "action.yml", "inputs:\n  dry run:\n    default: 'no'\n")
    assert input_env(action_yml, {}, {}) == ({"INPUT_DRY_RUN": "no"}, [])


def test_input_env_covers_every_input_of_the_real_action_yml():
    action_yml = Path(__file__).resolve().parents[1] / "action.yml"
    declared = yaml_inputs(action_yml)
    env, unexpected = input_env(action_yml, {}, EXPRESSIONS)
    assert set(env) == {"INPUT_" + name.upper() for name in declared}
    assert env["INPUT_GITHUB-TOKEN"] == TOKEN
    assert unexpected == []


def yaml_inputs(action_yml: Path) -> list[str]:
    return list(yaml.safe_load(action_yml.read_text())["inputs"])


# -- read_outputs: the GITHUB_OUTPUT file --


def test_read_outputs_parses_both_forms(tmp_path):
    path = write(tmp_path / "output", textwrap.dedent("""\
        pr-url=https://example.test/pulls/1?a=b
        summary<<ghadelimiter_5f1d
        first line
        key=value inside a block
        a << b
        ghadelimiter_5f1d
        empty=
        blank<<EOF
        EOF
        """))
    assert read_outputs(path) == {
        "pr-url": "https://example.test/pulls/1?a=b",
        "summary": "first line\nkey=value inside a block\na << b",
        "empty": "",
        "blank": "",
    }


def test_read_outputs_takes_the_last_value_of_a_name(tmp_path):
    path = write(tmp_path / "output", "outcome=pending\noutcome<<X\nsuccess\nX\n")
    assert read_outputs(path) == {"outcome": "success"}


def test_read_outputs_treats_a_line_with_equals_before_the_delimiter_as_a_value(tmp_path):
    assert read_outputs(write(tmp_path / "output", "expr=a<<b\n")) == {"expr": "a<<b"}


def test_read_outputs_of_a_missing_file_is_empty(tmp_path):
    assert read_outputs(tmp_path / "never-written") == {}


# -- run_container_action: the probe image, for real --


@pytest.fixture(scope="module")
def client(docker_engine) -> docker.DockerClient:
    return docker_engine


@pytest.fixture(scope="module")
def probe_image(client, tmp_path_factory):
    """A throwaway container action that reports what it sees; removed afterwards."""
    context = tmp_path_factory.mktemp("probe-image")
    write(context / "entrypoint.sh", PROBE_ENTRYPOINT).chmod(0o755)
    write(context / "Dockerfile",
          f"FROM {BASE_IMAGE}\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT [\"/entrypoint.sh\"]\n")
    tag = f"codeagent-runner-probe:{uuid.uuid4().hex[:12]}"
    client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    yield tag
    client.images.remove(tag, force=True)


def run_probe(client, image: str, root: Path, inputs: dict[str, str], **cancel):
    """The runner's steps for one job: layout, event, inputs, GITHUB_*, the container; what it saw."""
    layout = RunnerLayout(root / "runner", REPOSITORY)
    layout.create()
    write(layout.workspace / "from-runner.txt", "checked out by the runner\n")
    layout.event_path.write_text(json.dumps({"action": "created", "issue": {"number": 7}}))
    env, _ = input_env(write(root / "action" / "action.yml", ACTION_YML), inputs, EXPRESSIONS)
    gh_env, files = github_env(
        layout, repository=REPOSITORY, event_name="issue_comment", actor="octo-owner", sha="a" * 40,
        api_url="http://127.0.0.1:9/api/v3", server_url="http://127.0.0.1:9",
        graphql_url="http://127.0.0.1:9/api/graphql", run_id=42,
    )
    run = run_container_action(client, image, layout, {**env, **gh_env}, timeout_s=60, **cancel)
    assert not client.containers.list(all=True, filters={"name": run.container_name}), "the action container was left"
    return layout, files, run.exit_code, sections(run.log), run.duration_s


def sections(log: str) -> dict[str, list[str]]:
    """The probe's report: ``== name`` headings and the lines under each."""
    found: dict[str, list[str]] = {}
    for line in log.splitlines():
        if line.startswith("== "):
            current = found.setdefault(line[3:], [])
        else:
            current.append(line)
    return found


@pytest.mark.docker
def test_the_action_container_gets_the_runners_mounts_env_and_file_commands(client, probe_image, tmp_path):
    layout, files, exit_code, seen, duration = run_probe(
        client, probe_image, tmp_path, {"model": "sonnet", "not-declared": "passed on"})
    assert exit_code == 0, seen
    assert seen["id"] == ["uid=0(root) gid=0(root) groups=0(root)"]
    assert seen["pwd"] == ["/github/workspace"]
    mount_points = {line.split()[4] for line in seen["mountinfo"]}
    assert RUNNER_MOUNTS <= mount_points
    assert seen["docker.sock"] == ["socket"]
    assert json.loads(seen["event"][0]) == {"action": "created", "issue": {"number": 7}}
    assert seen["workspace"] == ["checked out by the runner"]
    assert (layout.workspace / "from-action.txt").read_text() == "written by the action\n"
    assert (layout.home / "from-action.txt").read_text() == "kept in the runner's home\n"
    assert duration < 30

    env = dict(line.split("=", 1) for line in seen["env"])
    assert env["GITHUB_OUTPUT"].startswith("/github/file_commands/set_output_")
    assert env["GITHUB_STEP_SUMMARY"].startswith("/github/file_commands/step_summary_")
    assert (env["GITHUB_EVENT_PATH"], env["HOME"], env["GITHUB_WORKSPACE"]) == (
        "/github/workflow/event.json", "/github/home", "/github/workspace")
    assert (env["GITHUB_REPOSITORY"], env["GITHUB_EVENT_NAME"], env["GITHUB_ACTIONS"]) == (
        REPOSITORY, "issue_comment", "true")
    assert {key: value for key, value in env.items() if key.startswith("INPUT_")} == {
        "INPUT_MAX-TURNS": "30", "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_MODEL": "sonnet",
        "INPUT_EXIT-STATUS": "0", "INPUT_NOT-DECLARED": "passed on", "INPUT_WAIT-FOR-CANCEL": "",
    }

    assert read_outputs(files["GITHUB_OUTPUT"]) == {"greeting": "hello", "notes": "line one\nline two"}
    assert files["GITHUB_STEP_SUMMARY"].read_text() == "### Probe summary\n"


@pytest.mark.docker
def test_the_action_exit_code_propagates(client, probe_image, tmp_path):
    _, files, exit_code, _, _ = run_probe(client, probe_image, tmp_path, {"exit-status": "3"})
    assert exit_code == 3
    assert read_outputs(files["GITHUB_OUTPUT"])["greeting"] == "hello"


@pytest.mark.docker
def test_a_cancelled_step_gets_sigint_then_sigterm_after_seven_and_a_half_seconds(client, probe_image, tmp_path):
    layout = RunnerLayout(tmp_path / "runner", REPOSITORY)
    layout.create()
    env, _ = input_env(write(tmp_path / "action" / "action.yml", ACTION_YML), {"wait-for-cancel": "yes"},
                       EXPRESSIONS)
    run = run_container_action(client, probe_image, layout, env, timeout_s=60, cancel_after_s=0.5)
    assert run.exit_code == 143
    assert run.log.splitlines() == ["waiting", "got SIGINT, going on", "got SIGTERM, stopping"]
    assert run.cancel["signals"] == ["SIGINT", "SIGTERM"] and 0.5 <= run.cancel["at_s"] < 1.5
    assert 7.5 <= run.duration_s - run.cancel["at_s"] < 9.5


@pytest.mark.docker
def test_a_step_that_is_not_cancelled_has_no_cancel_record(client, probe_image, tmp_path):
    cancel = threading.Event()
    layout = RunnerLayout(tmp_path / "runner", REPOSITORY)
    layout.create()
    env, _ = input_env(write(tmp_path / "action" / "action.yml", ACTION_YML), {}, EXPRESSIONS)
    run = run_container_action(client, probe_image, layout, env, timeout_s=60, cancel=cancel)
    assert run.cancel is None and run.started_at <= time.time() - run.duration_s + 1


# -- checkout: actions/checkout against the GitHub emulator --


def git(*args: str) -> str:
    """git as a bystander; the workspace belongs to the runner's user, not to us."""
    done = subprocess.run(["git", "-c", "safe.directory=*", *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def push_a_second_commit(bare: Path, scratch: Path) -> str:
    """Add a commit on main directly in the emulator's bare repository; its sha."""
    clone = scratch / "contributor"
    git("clone", "-q", str(bare), str(clone))
    write(clone / "CHANGELOG.md", "- second commit\n")
    git("-C", str(clone), "add", "CHANGELOG.md")
    git("-C", str(clone), "-c", "user.name=Someone", "-c", "user.email=someone@example.com",
        "commit", "-q", "-m", "Second commit")
    git("-C", str(clone), "push", "-q", "origin", "HEAD:main")
    return git("-C", str(clone), "rev-parse", "HEAD")


def test_checkout_is_a_depth_one_clone_owned_by_the_runner_with_the_token_header(tmp_path):
    write(tmp_path / "files" / "README.md", "# probe\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(TOKEN, "github-actions[bot]", type="Bot")
        github.create_repo(REPOSITORY, tmp_path / "files")
        head = push_a_second_commit(github.root / "octo-org" / "probe.git", tmp_path)
        layout = RunnerLayout(tmp_path / "runner", REPOSITORY)
        layout.create()
        sha = checkout(layout, github.clone_url(REPOSITORY), github.server_url, TOKEN)
        server_url = github.server_url
    workspace = layout.workspace
    assert sha == head
    assert (workspace / "CHANGELOG.md").read_text() == "- second commit\n"
    assert git("-C", str(workspace), "rev-list", "--count", "HEAD") == "1"
    assert (workspace / ".git" / "shallow").read_text().split() == [head]
    assert git("-C", str(workspace), "branch", "--show-current") == "main"
    header = git("config", "--file", str(workspace / ".git" / "config"), f"http.{server_url}/.extraheader")
    assert header == "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert {path.lstat().st_uid for path in [workspace, *workspace.rglob("*")]} == {RUNNER_UID}
    # The index's stat data matches the files, as the runner's own checkout leaves it: diff-files
    # (which compares stat data only) sees nothing.
    subprocess.run(["git", "-c", "safe.directory=*", "-C", str(workspace), "diff-files", "--quiet"], check=True)


def test_a_v6_checkout_keeps_the_token_in_an_included_file_under_the_runners_temp(tmp_path):
    write(tmp_path / "files" / "README.md", "# probe\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(TOKEN, "github-actions[bot]", type="Bot")
        github.create_repo(REPOSITORY, tmp_path / "files")
        layout = RunnerLayout(tmp_path / "runner", REPOSITORY)
        layout.create()
        checkout(layout, github.clone_url(REPOSITORY), github.server_url, TOKEN, version="v6")  # fetched with it
        server_url = github.server_url
    config = layout.workspace / ".git" / "config"
    assert "extraheader" not in config.read_text()
    [credentials] = layout.temp.glob("git-credentials-*.config")
    header = git("config", "--file", str(credentials), f"http.{server_url}/.extraheader")
    assert header == "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    includes = git("config", "--file", str(config), "--get-regexp", r"^includeif\.").splitlines()
    host, container = f"{layout.workspace}/.git", "/github/workspace/.git"
    assert includes == [f"includeif.gitdir:{host}.path {credentials}",
                        f"includeif.gitdir:{host}/worktrees/*.path {credentials}",
                        f"includeif.gitdir:{container}.path /github/runner_temp/{credentials.name}",
                        f"includeif.gitdir:{container}/worktrees/*.path /github/runner_temp/{credentials.name}"]
    # git in the checkout (as the host sees it) sends the header from the included file.
    assert git("-C", str(layout.workspace), "config", f"http.{server_url}/.extraheader") == header


def test_a_step_of_another_processs_docker_build_is_not_taken_for_a_container_the_action_left():
    from bench.run import _build_step

    step = {"Image": "sha256:20f5a608da97", "Cmd": ["/bin/sh", "-c", "set -eu; make"], "Labels": {}}
    sandbox = {"Image": "codeagent-sandbox:x", "Cmd": ["sleep", "infinity"], "Labels": {"codeagent.sandbox": "sandbox"}}
    unlabelled = {"Image": "debian:bookworm", "Cmd": ["/bin/sh", "-c", "true"], "Labels": {}}
    assert _build_step(step) and not _build_step(sandbox) and not _build_step(unlabelled)
