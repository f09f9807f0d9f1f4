"""The runner's environment, read once into a frozen `RunnerContext` (like httpie's `Environment`).

Only `from_environ` reads the variables the runner sets for a container action; everything
else is handed the context. Tests build one directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import EventError


@dataclass(frozen=True)
class RunnerContext:
    """Where the runner put things, and who this run is."""

    workspace: Path
    event_name: str
    event_path: Path | None
    repository: str
    server_url: str
    api_url: str
    run_id: str
    run_attempt: str
    home: Path
    """The runner mounts its temp space here (`/github/home`): the run's files go under it."""
    output_file: Path | None = None
    summary_file: Path | None = None
    debug: bool = False
    """Step debug logging (`ACTIONS_STEP_DEBUG` / re-run with debug logging)."""
    gateway_hosts: str = ""
    """`CODEAGENT_GATEWAY_HOSTS`: names the gateway resolves to fixed addresses (the bench's stand-in
    registries); only the runner's environment can set it, never the repository."""
    sandbox_image: str = ""
    """`CODEAGENT_SANDBOX_IMAGE`: a released action image names its sandbox image here (by digest);
    empty in an image built from the Dockerfile, which is its own sandbox."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RunnerContext:
        def path(name: str) -> Path | None:
            return Path(environ[name]) if environ.get(name) else None

        return cls(
            workspace=Path(environ.get("GITHUB_WORKSPACE", "/github/workspace")),
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            event_path=path("GITHUB_EVENT_PATH"),
            repository=environ.get("GITHUB_REPOSITORY", ""),
            server_url=environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            api_url=environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            run_id=environ.get("GITHUB_RUN_ID", "local"),
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", "1"),
            home=Path(environ.get("HOME", "/github/home")),
            output_file=path("GITHUB_OUTPUT"),
            summary_file=path("GITHUB_STEP_SUMMARY"),
            debug=environ.get("RUNNER_DEBUG") == "1" or environ.get("ACTIONS_STEP_DEBUG", "").lower() == "true",
            gateway_hosts=environ.get("CODEAGENT_GATEWAY_HOSTS", ""),
            sandbox_image=environ.get("CODEAGENT_SANDBOX_IMAGE", ""),
        )

    @property
    def run_url(self) -> str:
        """Link to this workflow run's log."""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def state_dir(self, number: int) -> Path:
        """This run's files (gateway socket, the agent's HOME, transcript): under HOME, which the runner
        mounts from its temp space, so a sibling container can be given them."""
        return self.home / "codeagent" / f"run-{self.run_id}-{self.run_attempt}-{number}"

    def read_payload(self) -> dict:
        """The event payload the runner wrote to GITHUB_EVENT_PATH."""
        if self.event_path is None:
            raise EventError("GITHUB_EVENT_PATH is not set: run codeagent as a step of a GitHub Actions workflow")
        try:
            payload = json.loads(self.event_path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError) as error:
            raise EventError(f"cannot read the event payload {self.event_path}: {error}. Run codeagent as a step "
                             "of a GitHub Actions workflow, which writes it.") from error
        if not isinstance(payload, dict):
            raise EventError(f"the event payload {self.event_path} is not a JSON object. Run codeagent as a step "
                             "of a GitHub Actions workflow, which writes it.")
        return payload
