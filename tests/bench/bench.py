"""One scenario, run for real: emulators up, checkout, action container, report.

The report's keys are a fixed contract (scenarios/README.md, "The report").
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import NotFound

from tests.bench.github_emulator import GitHubEmulator
from tests.bench.model_server import ModelServer
from tests.bench.runner import (
    RunnerLayout,
    build_action_image,
    checkout,
    github_env,
    input_env,
    read_outputs,
    run_container_action,
)
from tests.bench.scenario import WORKSPACE_IN_SANDBOX, Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "codeagent-base:bookworm"
ACTION_IMAGE = "codeagent-action:bench"
WORKFLOW_TOKEN_LOGIN = "github-actions[bot]"


def build_image(tag: str = ACTION_IMAGE, base_image: str = BASE_IMAGE) -> str:
    """Build the action image from this checkout (the runner builds it per job)."""
    build_action_image(REPO_ROOT, tag, base_image)
    return tag


class ContainerWatch:
    """Records every container created while a run goes on, from the engine's events.

    It sees the sandbox's environment (to prove no secret reached it) and which
    containers are still there at the end.
    """

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client
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
        env = dict(item.split("=", 1) for item in attrs["Config"].get("Env") or [] if "=" in item)
        self.created[container_id] = {"name": attrs["Name"].lstrip("/"), **{"env:" + k: v for k, v in env.items()}}

    def left_behind(self, exclude_prefix: str = "codeagent_action_") -> list[str]:
        """Names of containers created during the run that still exist."""
        left = []
        for container_id, info in self.created.items():
            name = info.get("name", container_id[:12])
            if name.startswith(exclude_prefix):
                continue
            try:
                self._client.api.inspect_container(container_id)
                left.append(name)
            except NotFound:
                pass
        return left

    def environments(self, exclude_prefix: str = "codeagent_action_") -> list[dict[str, str]]:
        """Environment of each container the action started (not the action's own)."""
        return [
            {k[4:]: v for k, v in info.items() if k.startswith("env:")}
            for info in self.created.values()
            if not info.get("name", "").startswith(exclude_prefix)
        ]


def run_scenario(scenario: Scenario, work_root: Path, image: str = ACTION_IMAGE) -> dict[str, Any]:
    """Run ``scenario`` end to end and return the report."""
    token = "ghs_" + secrets.token_hex(18)
    api_key = "sk-ant-bench-" + secrets.token_hex(16)
    # The GitHub token in every form it travels in: raw and as the checkout's Basic header.
    leak_forms = {
        "GITHUB_TOKEN": token,
        "GITHUB_TOKEN (basic auth header)": base64.b64encode(f"x-access-token:{token}".encode()).decode(),
    }
    client = docker.from_env()
    with GitHubEmulator(work_root / "github") as github, \
            ModelServer(scenario.model, WORKSPACE_IN_SANDBOX, secrets={**leak_forms, "ANTHROPIC_API_KEY": api_key}) as model, \
            ContainerWatch(client) as watch:
        issue_number, payload = _seed(github, scenario, token)
        layout = RunnerLayout(work_root / "runner", scenario.repository)
        layout.create()
        sha = checkout(layout, github.clone_url(scenario.repository), github.server_url, token)
        layout.event_path.write_text(json.dumps(payload, indent=2))
        inputs = {"anthropic-api-key": api_key, "anthropic-base-url": model.url, **scenario.inputs}
        env, unexpected = input_env(REPO_ROOT / "action.yml", inputs, {"${{github.token}}": token})
        gh_env, files = github_env(
            layout, repository=scenario.repository, event_name=scenario.event_name,
            actor=scenario.event_author, sha=sha, api_url=github.api_url, server_url=github.server_url,
            graphql_url=github.graphql_url, run_id=int(time.time()),
        )
        exit_code, log, duration, _ = run_container_action(client, image, layout, {**env, **gh_env})
        if unexpected:
            log = f"Warning: Unexpected input(s) {unexpected!r}\n" + log
        leaked = set(model.leaked_secrets())
        for environment in watch.environments():
            leaked |= {name for name, value in leak_forms.items() if value in "\n".join(environment.values())}
        return {
            "scenario": scenario.name,
            "exit_code": exit_code,
            "outputs": read_outputs(files["GITHUB_OUTPUT"]),
            "step_summary": files["GITHUB_STEP_SUMMARY"].read_text(),
            "pulls": github.pulls(scenario.repository),
            "branches": github.branches(scenario.repository),
            "issue_comments": github.comments(scenario.repository),
            "reactions": [r for r in github.reactions(scenario.repository) if r.get("author") == WORKFLOW_TOKEN_LOGIN],
            "model_requests": model.request_count(),
            "leaked_secrets": sorted(leaked),
            "api_requests": github.api_requests(),
            "log": log,
            "containers_left": watch.left_behind(),
            "duration_s": round(duration, 2),
            "model_s": round(model.model_seconds, 2),
            "issue_number": issue_number,
            "unknown_api_requests": list(github.unknown_requests),
        }


def _seed(github: GitHubEmulator, scenario: Scenario, token: str) -> tuple[int, dict]:
    """Put the repository, people, issue and thread in the emulator; return the event payload."""
    repository = scenario.repository
    github.add_token(token, WORKFLOW_TOKEN_LOGIN, type="Bot")
    github.create_repo(repository, scenario.repo_dir)
    for login, role in scenario.roles().items():
        github.set_permission(repository, login, role)
    issue = github.create_issue(repository, scenario.issue_title, scenario.issue_body,
                                scenario.issue_author, number=scenario.issue_number)
    number = issue["number"]
    for comment in scenario.issue_comments:
        github.add_issue_comment(repository, number, comment.author, comment.body)
    sender = github.user_json(scenario.event_author)
    repo = github.repo_json(repository)
    if scenario.event_name == "workflow_dispatch":
        inputs = {"issue-number": str(number), **{k: v for k, v in scenario.event_inputs.items()}}
        return number, {"inputs": inputs, "ref": "refs/heads/main", "repository": repo, "sender": sender,
                        "workflow": ".github/workflows/codeagent.yml"}
    comment = github.add_issue_comment(repository, number, scenario.event_author, scenario.event_comment)
    comment["author_association"] = scenario.event_author_association
    return number, {"action": "created", "issue": github.issue_json(repository, number),
                    "comment": comment, "repository": repo, "sender": sender}
