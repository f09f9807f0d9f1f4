"""A scenario folder (``repo/`` + ``scenario.yaml``), read into typed values.

The format is a fixed contract: ../shared/scenarios/README.md and the repo's
copy in scenarios/README.md. Unknown keys are kept readable (``raw``) so the
format can grow without breaking older scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WORKSPACE_IN_SANDBOX = "/github/workspace"
"""Where the sandbox sees the checkout: ``{workspace}`` in a model script."""

_ROLE_BY_ASSOCIATION = {"OWNER": "admin", "MEMBER": "write", "COLLABORATOR": "write"}


@dataclass(frozen=True)
class ScenarioComment:
    author: str
    body: str


@dataclass(frozen=True)
class Scenario:
    """One run of the action, described from the outside."""

    path: Path
    repository: str
    issue_number: int | None
    issue_title: str
    issue_body: str
    issue_author: str
    issue_comments: tuple[ScenarioComment, ...]
    event_name: str
    event_comment: str
    event_author: str
    event_author_association: str
    event_inputs: dict[str, Any]
    collaborators: dict[str, str]
    inputs: dict[str, str]
    model: list[list[dict]]
    raw: dict[str, Any] = field(repr=False)

    @property
    def repo_dir(self) -> Path:
        return self.path / "repo"

    @property
    def name(self) -> str:
        return self.path.name

    def roles(self) -> dict[str, str]:
        """Repository role of each login: from author_association, overridden by ``collaborators``."""
        roles = {self.event_author: _ROLE_BY_ASSOCIATION.get(self.event_author_association, "read")}
        roles.update(self.collaborators)
        return roles


def load_scenario(path: Path) -> Scenario:
    """Read ``path/scenario.yaml``; a missing required key is a clear error."""
    path = Path(path).resolve()
    data = yaml.safe_load((path / "scenario.yaml").read_text()) or {}
    issue = data.get("issue") or {}
    event = data.get("event") or {}
    if "repository" not in data or "name" not in event:
        raise ValueError(f"{path}/scenario.yaml needs `repository` and `event.name`")
    author = str(event.get("author", "octo-owner"))
    return Scenario(
        path=path,
        repository=str(data["repository"]),
        issue_number=issue.get("number"),
        issue_title=str(issue.get("title", "")),
        issue_body=str(issue.get("body", "")),
        issue_author=str(issue.get("author", author)),
        issue_comments=tuple(
            ScenarioComment(str(c["author"]), str(c["body"])) for c in issue.get("comments") or []
        ),
        event_name=str(event["name"]),
        event_comment=str(event.get("comment", "")),
        event_author=author,
        event_author_association=str(event.get("author_association", "OWNER")),
        event_inputs=dict(event.get("inputs") or {}),
        collaborators={str(k): str(v) for k, v in (data.get("collaborators") or {}).items()},
        inputs={str(k): _input_text(v) for k, v in (data.get("inputs") or {}).items()},
        model=list(data.get("model") or []),
        raw=data,
    )


def _input_text(value: Any) -> str:
    """Inputs reach an action as strings, as the runner renders them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
