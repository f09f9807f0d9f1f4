"""REST endpoints of the GitHub emulator: GitHub Actions workflows, and running one (``workflow_dispatch``).

The workflows are the repository's ``.github/workflows/*.yml`` (and ``*.yaml``) as its default
branch has them, as on GitHub; a dispatch reads the workflow file at the ``ref`` it names, as the
run would. The workflow token needs ``actions: read`` to list them and ``actions: write`` to run
one (its job's ``permissions:``, `State.token_scopes`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml

from bench.github import gitrepo
from bench.github.api import Call, Reply, paginated
from bench.github.state import ApiError, Dispatch, NotFound, Repo, node_id, now_iso

WORKFLOWS = ".github/workflows"


@dataclass(frozen=True)
class Workflow:
    path: str
    name: str
    """Its ``name:``, or its path when it has none (as GitHub shows it)."""
    id: int


def workflows(call: Call) -> list[Workflow]:
    """The workflows of the repository's default branch, in path order."""
    repo = call.repo
    tip = gitrepo.branch_tips(repo.path).get(repo.default_branch)
    paths = gitrepo.files_in(repo.path, tip, WORKFLOWS) if tip else []
    found = []
    for path in sorted(p for p in paths if p.endswith((".yml", ".yaml"))):
        name = _document(gitrepo.read_file(repo.path, tip, path)).get("name")
        found.append(Workflow(path, name if isinstance(name, str) and name else path,
                              call.state.workflow_id(repo, path)))
    return found


def _document(text: str | None) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return {}
    return document if isinstance(document, dict) else {}


def _triggers(text: str | None) -> dict[str, Any]:
    """The workflow's ``on:`` as a map of event names (PyYAML reads a bare ``on`` key as True)."""
    document = _document(text)
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(name): None for name in on}
    return on if isinstance(on, dict) else {}


def _render(call: Call, repo: Repo, workflow: Workflow) -> dict[str, Any]:
    api, web = call.render.repo_api(repo), f"{call.render.links.web}/{repo.full_name}"
    return {"id": workflow.id, "node_id": node_id("Workflow", workflow.id), "name": workflow.name,
            "path": workflow.path, "state": "active", "created_at": repo.created_at, "updated_at": repo.created_at,
            "url": f"{api}/actions/workflows/{workflow.id}",
            "html_url": f"{web}/blob/{quote(repo.default_branch)}/{workflow.path}",
            "badge_url": f"{web}/workflows/{quote(workflow.name)}/badge.svg"}


def _workflow(call: Call) -> Workflow:
    """The workflow the path names, by its id or its file name."""
    wanted = call.params["workflow_id"]
    for workflow in workflows(call):
        if wanted in (str(workflow.id), workflow.path.rsplit("/", 1)[-1]):
            return workflow
    raise NotFound()


def list_workflows(call: Call) -> Reply:
    call.require_scope("actions", "read")
    repo = call.repo
    found = [_render(call, repo, workflow) for workflow in workflows(call)]
    page = paginated(call, found)
    return Reply(200, {"total_count": len(found), "workflows": page.body}, page.headers)


def get_workflow(call: Call) -> Reply:
    call.require_scope("actions", "read")
    return Reply(200, _render(call, call.repo, _workflow(call)))


def create_dispatch(call: Call) -> Reply:
    """Run a workflow on ``ref``: 204 (or 200 with the run when ``return_run_details``), or GitHub's 422s."""
    call.require_scope("actions", "write")
    call.require("write")
    repo, workflow = call.repo, _workflow(call)
    ref = call.body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise ApiError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.')
    sha = gitrepo.resolve_ref(repo.path, ref)
    if sha is None:
        raise ApiError(422, f"No ref found for: {ref}")
    inputs = _checked_inputs(_triggers(gitrepo.read_file(repo.path, sha, workflow.path)), call.body.get("inputs"))
    call.state.dispatches.append(Dispatch(repo.full_name, workflow.path, ref, inputs, call.user.login, now_iso()))
    if not call.body.get("return_run_details"):
        return Reply(204)
    run = call.state.next_id("run")
    return Reply(200, {"workflow_run_id": run, "run_url": f"{call.render.repo_api(repo)}/actions/runs/{run}",
                       "html_url": f"{call.render.links.web}/{repo.full_name}/actions/runs/{run}"})


def _checked_inputs(triggers: dict[str, Any], given: Any) -> dict[str, str]:
    """The inputs of a dispatch, refused as GitHub refuses them (the workflow at the ref decides)."""
    if "workflow_dispatch" not in triggers:
        raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
    declared = (triggers["workflow_dispatch"] or {}).get("inputs") or {}
    given = given if isinstance(given, dict) else {}
    unexpected = [name for name in given if name not in declared]
    if unexpected:
        raise ApiError(422, f"Unexpected inputs provided: {json.dumps(unexpected)}")
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        if spec.get("required") and name not in given and spec.get("default") is None:
            raise ApiError(422, f"Required input '{name}' not provided")
    return {name: str(value) for name, value in given.items()}
