"""One scenario, run for real: emulators up, checkout, action container, report.

A scenario with ``runs:`` runs the action several times against the same emulator,
each time as a new workflow run: new event, new token, fresh checkout, new model script.
The report's keys are a fixed contract (scenarios/README.md, "The report").
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound

from bench.agents import wire_agent
from bench.canary import Canary
from bench.github.emulator import GitHubEmulator
from bench.leaks import LeakDetector
from bench.misbehaviour import CancelWatch, install_faults, unused
from bench.model.server import ModelServer, offers_tools
from bench.overlap import run_in_turn
from bench.release import ActionImage, pull
from bench.runner import (
    RunnerLayout,
    build_action_image,
    checkout,
    github_env,
    input_env,
    job_permissions,
    read_outputs,
    run_container_action,
)
from bench.scenario import WORKSPACE_IN_SANDBOX, Scenario, ScenarioRun
from bench.toolchain import build_images, removing_built_images, serve_index
from bench.seeding import World, apply_edits, edit_pull_request, post_event, seed

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE = "codeagent-base:bookworm"
ACTION_IMAGE = os.environ.get("CODEAGENT_IMAGE_TAG", "codeagent-action:bench")
"""The image the bench builds and runs; set CODEAGENT_IMAGE_TAG to keep benches of several checkouts apart."""
WORKFLOW_TOKEN_LOGIN = "github-actions[bot]"
EXAMPLE_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "codeagent.yml"
"""The workflow the README tells users to copy: its ``permissions:`` are the workflow token's unless a
scenario says ``permissions:``."""


def build_image(tag: str = ACTION_IMAGE, base_image: str = BASE_IMAGE) -> str:
    """Build the action image from this checkout (the runner builds it per job)."""
    build_action_image(REPO_ROOT, tag, base_image)
    return tag


def build(tag: str = ACTION_IMAGE, base_image: str = BASE_IMAGE) -> ActionImage:
    """`build_image`, timed: the `image: Dockerfile` path."""
    started = time.monotonic()
    build_action_image(REPO_ROOT, tag, base_image)
    return ActionImage(tag, build_s=round(time.monotonic() - started, 2))


class ContainerWatch:
    """Records every container created while a run goes on, from the engine's events.

    It sees the sandbox's environment (to prove no secret reached it) and which
    containers are still there at the end.
    """

    def __init__(self, client: docker.DockerClient, run_id: str = "") -> None:
        self._client = client
        self._run_id = run_id
        self._events = client.events(decode=True, filters={"type": "container", "event": "create"})
        self.created: dict[str, dict[str, str]] = {}
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ContainerWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._events.close()

    def _watch(self) -> None:
        try:
            for event in self._events:
                self._record(event.get("id") or event.get("Actor", {}).get("ID", ""))
        except Exception:  # the stream is closed under us at the end
            return

    def _record(self, container_id: str) -> None:
        try:
            attrs = self._client.api.inspect_container(container_id)
        except NotFound:
            self.created[container_id] = {}
            return
        if self._foreign(attrs["Config"].get("Labels") or {}) or _build_step(attrs["Config"]):
            return
        env = dict(item.split("=", 1) for item in attrs["Config"].get("Env") or [] if "=" in item)
        self.created[container_id] = {"name": attrs["Name"].lstrip("/"), **{"env:" + k: v for k, v in env.items()}}

    def _foreign(self, labels: dict[str, str]) -> bool:
        """A container of another process on the same engine: a test's, another bench run's
        action container, or a sandbox of another workflow run (the action labels its own)."""
        other_run = "codeagent.run" in labels and labels["codeagent.run"] != self._run_id
        return "codeagent.test" in labels or "codeagent.bench" in labels or other_run

    def left_behind(self, exclude_prefix: str = "codeagent_action_", grace_s: float = 3.0) -> list[str]:
        """Names of containers created during the run that still exist ``grace_s`` after it ended.

        The grace lets a short-lived container of another run on the engine that carries no
        label (``docker run --rm`` of a helper) go away rather than be counted here."""
        left = self._existing(exclude_prefix)
        deadline = time.monotonic() + grace_s
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self._existing(exclude_prefix)
        return [name for _, name in left]

    def _existing(self, exclude_prefix: str) -> list[tuple[str, str]]:
        existing = []
        for container_id, info in list(self.created.items()):
            name = info.get("name", container_id[:12])
            if name.startswith(exclude_prefix):
                continue
            try:
                self._client.api.inspect_container(container_id)
                existing.append((container_id, name))
            except NotFound:
                pass
        return existing

    def environments(self, exclude_prefix: str = "codeagent_action_") -> list[dict[str, str]]:
        """Environment of each container the action started (not the action's own)."""
        return [
            {k[4:]: v for k, v in info.items() if k.startswith("env:")}
            for info in self.created.values()
            if not info.get("name", "").startswith(exclude_prefix)
        ]


def _build_step(config: dict) -> bool:
    """A container ``docker build`` (the legacy builder) made for one step of a Dockerfile: it runs the
    step's shell command on the previous step's image, by id. The builder removes it when the step
    ends; on an engine that other benches share, a long step outlives a run's grace period. The
    action's own containers all carry its ``codeagent.sandbox`` label and run images by name."""
    return str(config.get("Image", "")).startswith("sha256:") and (config.get("Cmd") or [])[:2] == ["/bin/sh", "-c"] \
        and "codeagent.sandbox" not in (config.get("Labels") or {})


RUN_KEYS = ("exit_code", "outputs", "step_summary", "model_requests", "api_requests", "log", "duration_s",
            "model_s", "prompts", "model_request_messages", "first_request_text", "cancel", "transcript_result",
            "model_billed", "user_messages", "index_requests")
"""What the top-level report takes from the last run; ``leaked_secrets`` and ``containers_left``
are every run's, the emulator's state is the final one."""


def run_scenario(scenario: Scenario, work_root: Path, image: str | ActionImage = ACTION_IMAGE) -> dict[str, Any]:
    """Run ``scenario`` end to end (each of its runs in turn, against one emulator) and return the report.

    ``image``: a tag the bench built from the Dockerfile, or a released image, pulled first as the
    runner pulls a ``docker://`` image at the start of the job."""
    action = pull(image if isinstance(image, ActionImage) else ActionImage(image))
    api_key = secrets.token_hex(16)  # the agent's key input: its vendor's prefix and this (bench/agents.py)
    runs = scenario.runs()
    tokens = ["ghs_" + secrets.token_hex(18) for _ in runs]  # a new workflow token per run, as on GitHub
    # Each GitHub token in every form it travels in: raw and as the checkout's Basic header.
    leak_forms = {}
    for index, token in enumerate(tokens, 1):
        name = "GITHUB_TOKEN" + (f" (run {index})" if len(tokens) > 1 else "")
        leak_forms[name] = token
        leak_forms[f"{name} (basic auth header)"] = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    client = docker.from_env()
    build_images(client, scenario.images)
    with GitHubEmulator(work_root / "github") as github, removing_built_images(client):
        permissions = scenario.permissions
        if permissions is None:
            permissions = job_permissions(EXAMPLE_WORKFLOW)
        for token in tokens:
            github.add_token(token, WORKFLOW_TOKEN_LOGIN, type="Bot", permissions=permissions)
        world = seed(github, scenario, WORKFLOW_TOKEN_LOGIN)
        with (Canary() if scenario.canary else nullcontext()) as canary:
            bench_runs, root = [], work_root / "run-1"
            for index, (run, token) in enumerate(zip(runs, tokens), 1):
                root = root if run.reuse_workspace else work_root / f"run-{index}"
                bench_runs.append(BenchRun(client, action, github, token, api_key, leak_forms, root, index, canary))
            reports = run_in_turn([run.start for run in runs], list(bench_runs),
                                  lambda index: bench_runs[index].run(scenario, world, runs[index]))
            return {**_report(scenario, github, world, reports, action), "canary": canary.report() if canary else None}


class BenchRun:
    """One workflow run of a scenario: the event, a fresh checkout, the action container, what it left."""

    def __init__(self, client: docker.DockerClient, image: ActionImage, github: GitHubEmulator, token: str, api_key: str,
                 leak_forms: dict[str, str], root: Path, number: int, canary: Canary | None = None) -> None:
        self.client, self.image, self.github, self.token, self.api_key = client, image, github, token, api_key
        self.leak_forms, self.root, self.number = leak_forms, root, number
        self.canary = canary
        self.began = 0.0
        """When the run started (its event posted): a later run may start relative to it."""
        self.model: ModelServer | None = None

    def run(self, scenario: Scenario, world: World, run: ScenarioRun) -> dict[str, Any]:
        first_request = len(self.github.api_requests())
        if run.edit_pull_request is not None:
            edit_pull_request(self.github, scenario.repository, run.edit_pull_request)
        github, posted = self.github, post_event(self.github, scenario, world, run.event)
        apply_edits(github, scenario, world, run.event)
        substitutions = {"canary_port": str(self.canary.port)} if self.canary else {}
        self.github_repository, self.began = scenario.repository, time.monotonic()
        # Unique like GitHub's, also across benches running at once: the action labels its sandboxes with it.
        run_id = str(10**10 + secrets.randbelow(9 * 10**10))
        with ModelServer(run.model, WORKSPACE_IN_SANDBOX, secrets=self.leak_forms,
                         substitutions=substitutions) as model, \
                ContainerWatch(self.client, run_id) as watch, CancelWatch(run.cancel, model) as cancel, \
                serve_index(scenario.package_index) as (index, runner_env):
            self.model = model
            wiring = wire_agent(run.inputs, model.url, self.api_key)
            model.api_key, model.oauth = wiring.key, wiring.oauth
            for name, value in wiring.secrets.items():
                model.add_secret(name, value)
            layout = RunnerLayout(self.root, scenario.repository)
            layout.create()
            ref = posted.ref.removeprefix("refs/heads/")
            sha = checkout(layout, github.clone_url(scenario.repository), github.server_url, self.token, ref,
                           posted.sha, scenario.checkout)
            layout.event_path.write_text(json.dumps(posted.payload, indent=2))
            env, unexpected = input_env(self.image.action_yml, wiring.inputs, {"${{github.token}}": self.token})
            gh_env, files = github_env(
                layout, repository=scenario.repository, event_name=run.event.name, actor=run.event.author, sha=sha,
                api_url=github.api_url, server_url=github.server_url, graphql_url=github.graphql_url,
                run_id=int(run_id), run_number=self.number, ref=posted.ref,
            )
            faults = install_faults(run.faults, github, model)
            try:
                action = run_container_action(self.client, self.image.ref, layout, {**env, **gh_env, **runner_env},
                                              cancel=cancel.trigger, cancel_after_s=cancel.after_s)
            finally:
                for fault in faults:  # a later run meets only its own, also when runs overlap
                    fault.remove()
            log = action.log
            if unexpected:
                log = f"Warning: Unexpected input(s) {unexpected!r}\n" + log
            outputs = read_outputs(files["GITHUB_OUTPUT"])
            leaked = self.leaks(model, watch, layout, files, wiring.secrets)
            config_left = git_config_left(layout, action.changed_paths)
            return {
                "event_name": run.event.name,
                "exit_code": action.exit_code,
                "outputs": outputs,
                "step_summary": files["GITHUB_STEP_SUMMARY"].read_text(),
                "model_requests": model.request_count(),
                "leaked_secrets": sorted(leaked),
                "api_requests": github.api_requests(since=action.started_at, start=first_request, token=self.token),
                "log": log,
                "containers_left": watch.left_behind(),
                "duration_s": round(action.duration_s, 2),
                "model_s": round(model.model_seconds, 2),
                "model_billed": model.billed(),
                "cancel": action.cancel,
                "transcript_result": transcript_result(outputs.get("transcript-path", "")),
                "unused_faults": unused(faults),
                "index_requests": list(index.requests) if index else [],
                "git_config_left": config_left,
                **_prompts(model),
            }


    def leaks(self, model: ModelServer, watch: ContainerWatch, layout: RunnerLayout, files: dict[str, Path],
              model_secrets: dict[str, str]) -> list[str]:
        """Every secret found, in any form, where the agent could have put it or anyone can read it."""
        detector = LeakDetector({**self.leak_forms, **model_secrets})
        detector.scan_all(model.visible_texts())
        detector.scan_all("\n".join(environment.values()) for environment in watch.environments())
        for bare in self.github.root.glob("*/*.git"):
            detector.scan_repository(bare)
        detector.scan_files(layout.home / "codeagent")  # transcripts, the agent's HOME, the packer's output
        detector.scan(files["GITHUB_STEP_SUMMARY"].read_text())
        detector.scan_all(comment["body"] for comment in self.github.comments(self.github_repository))
        detector.scan_all(pull["body"] + pull["title"] for pull in self.github.pulls(self.github_repository))
        if self.canary is not None:  # what reached the listener on the host's loopback
            detector.scan_all(self.canary.texts())
        return sorted(detector.found)


GLOBAL_GIT_CONFIGS = ("/etc/gitconfig", "/root/.gitconfig", "/root/.config/git/config")
"""The system and global git config files of the action's container (its HOME is the runner's mount)."""
HOME_GIT_CONFIGS = (".gitconfig", ".config/git/config")
"""Global git config files under HOME (``/github/home``), which the runner keeps for the job's later steps."""


def git_config_left(layout: RunnerLayout, changed_paths: tuple[str, ...]) -> list[dict[str, str]]:
    """Global or system git config the action wrote: ``{path, text}`` as the action saw each file.

    The home mount is new for each run, so any config file there is the action's; the
    container's own files are those ``docker diff`` shows changed (the container is gone, so no text)."""
    left = []
    for name in HOME_GIT_CONFIGS:
        path = layout.home / name
        if path.is_file():
            left.append({"path": f"/github/home/{name}", "text": path.read_text(errors="replace")})
    left += [{"path": path, "text": ""} for path in changed_paths if path in GLOBAL_GIT_CONFIGS]
    return left


def transcript_result(path: str) -> dict | None:
    """The last ``result`` message of the stream-json transcript at ``path`` (a path on this machine),
    or None when there is no such file or message."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines() if path else []
    except OSError:
        return None
    results = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "result":
            results.append(message)
    return results[-1] if results else None


def _prompts(model: ModelServer) -> dict[str, Any]:
    """What the model was asked: the user prompt of each request, how many messages (and what text)
    the first agent-loop request carried — a resumed session sends the earlier turns — and every user
    message of the agent loop (prompts, and tool results: what its commands printed), each once. Each
    request is read in its own API's shape (messages, input items, contents)."""
    calls = model.model_calls()
    agent = [(wire, body) for wire, body in calls if offers_tools(body)]
    messages = agent[0][0].conversation(agent[0][1]) if agent else []
    sent = [text for wire, body in agent for text in wire.user_texts(body)]
    return {
        "prompts": [wire.prompt(body) for wire, body in calls],
        "model_request_messages": len(messages),
        "first_request_text": "\n\n".join(messages),
        "user_messages": list(dict.fromkeys(sent)),
    }


def _report(scenario: Scenario, github: GitHubEmulator, world: World, runs: list[dict[str, Any]],
            image: ActionImage) -> dict[str, Any]:
    """The last run's account, the emulator's final state, and every run in order."""
    repository, last = scenario.repository, runs[-1]
    return {
        "scenario": scenario.name,
        "repository": repository,
        **{key: last[key] for key in RUN_KEYS},
        "action_image": image.ref,
        "image_build_s": image.build_s,
        "image_pull_s": image.pull_s,
        "pulls": github.pulls(repository),
        "branches": github.branches(repository),
        "issue_comments": github.comments(repository),
        "review_comments": github.prs.review_comments(repository),
        "reviews": github.prs.reviews(repository),
        "reactions": [r for r in github.reactions(repository) if r.get("author") == WORKFLOW_TOKEN_LOGIN],
        "leaked_secrets": sorted({name for run in runs for name in run["leaked_secrets"]}),
        "containers_left": [name for run in runs for name in run["containers_left"]],
        "unused_faults": [fault for run in runs for fault in run["unused_faults"]],
        "git_config_left": [config for run in runs for config in run["git_config_left"]],
        "issue_number": world.issue_number,
        "pull_number": world.pull_number,
        "bench_comment_ids": list(world.bench_comment_ids),
        "unknown_api_requests": list(github.unknown_requests),
        "spec_violations": list(github.spec_violations),
        "workflow_dispatches": github.dispatches(repository),
        "forced_pushes": github.forced_pushes(repository),
        "runs": runs,
    }
