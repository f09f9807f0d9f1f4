"""A scenario folder (``repo/`` + ``scenario.yaml``), read into typed values.

The format is a fixed contract: ../shared/scenarios/README.md and the repo's
copy in scenarios/README.md, with this repository's extensions documented there.
Unknown top-level and ``event`` keys are kept readable (``raw``) so the format can
grow without breaking older scenarios; the objects this repository added
(``pull_request``, ``runs``, ``faults``) refuse unknown keys, so a typo cannot pass unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.github.state import PLANS
from bench.misbehaviour import ScenarioCancel, ScenarioFaults, read_cancel, read_faults
from bench.toolchain import ScenarioImage, ScenarioIndex, read_images, read_index
from bench.runner import CHECKOUT_VERSIONS
from bench.overlap import ScenarioStart, read_start

WORKSPACE_IN_SANDBOX = "/github/workspace"
"""Where the sandbox sees the checkout: ``{workspace}`` in a model script."""

_ROLE_BY_ASSOCIATION = {"OWNER": "admin", "MEMBER": "write", "COLLABORATOR": "write"}
SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "models", "packages", "pages", "pull-requests", "security-events", "statuses")
"""The scopes of a job's ``permissions:`` (GitHub's list)."""
PULL_REQUEST_EVENTS = ("pull_request_review_comment", "pull_request_review")
"""Events that always concern a pull request (the runner checks out its merge ref)."""


@dataclass(frozen=True)
class ScenarioComment:
    author: str
    body: str


@dataclass(frozen=True)
class ScenarioReviewComment:
    """A comment on a line of the pull request's diff (or a reply in an earlier one's thread)."""

    author: str
    body: str
    path: str = ""
    line: int | None = None
    side: str = "RIGHT"
    diff_hunk: str | None = None
    """As GitHub shows it above the comment; computed from the pull request's diff when absent."""
    in_reply_to: int | None = None
    """Index (from 0) in ``pull_request.review_comments`` of the comment whose thread this one answers."""


@dataclass(frozen=True)
class ScenarioReview:
    author: str
    body: str
    state: str = "commented"


@dataclass(frozen=True)
class ScenarioCommit:
    message: str
    files: dict[str, str | None]
    """Path to its new text; None deletes the file; empty: an empty commit."""
    author: str | None = None


@dataclass(frozen=True)
class ScenarioPullRequest:
    """A pull request that exists before the first run, its head pushed and its conversation held."""

    title: str
    head: str
    number: int | None = None
    body: str = ""
    base: str | None = None
    draft: bool = False
    state: str = "open"
    merged: bool = False
    head_deleted: bool = False
    author: str = "github-actions[bot]"
    fork: str | None = None
    """``owner/name`` of the fork the head branch lives in."""
    commits: tuple[ScenarioCommit, ...] = ()
    comments: tuple[ScenarioComment, ...] = ()
    reviews: tuple[ScenarioReview, ...] = ()
    review_comments: tuple[ScenarioReviewComment, ...] = ()


@dataclass(frozen=True)
class ScenarioEdit:
    """Edits made after a run's event was posted (its payload keeps the state before them)."""

    issue_title: str | None = None
    issue_body: str | None = None
    comments: dict[int, str] = field(default_factory=dict)
    """Index (from 0) in ``issue.comments`` -> the comment's new body."""


@dataclass(frozen=True)
class ScenarioEvent:
    """What triggers one run."""

    name: str
    comment: str = ""
    author: str = "octo-owner"
    author_association: str = "OWNER"
    inputs: dict[str, Any] = field(default_factory=dict)
    number: int | None = None
    """The issue or pull request it concerns; default: ``pull_request``'s, else the issue's."""
    path: str = ""
    line: int | None = None
    side: str = "RIGHT"
    diff_hunk: str | None = None
    in_reply_to: int | None = None
    review_body: str = ""
    review_state: str = "commented"
    review_comments: tuple[ScenarioReviewComment, ...] = ()
    """Inline comments of a submitted review (``pull_request_review``)."""
    edit_after: ScenarioEdit | None = None
    """What the issue's author changes once the event is posted, before the run reads anything."""


@dataclass(frozen=True)
class ScenarioPullEdit:
    """A person edits a pull request's description between two runs."""

    number: int | None = None
    """Which pull request; default: the last one opened."""
    author: str = "octo-owner"
    prepend: str = ""
    """A paragraph put before the description as it then is."""
    append: str = ""
    """A paragraph put after it."""


@dataclass(frozen=True)
class ScenarioRun:
    """One workflow run: its event, the model's script and the action's inputs."""

    event: ScenarioEvent
    model: list[list[dict]]
    inputs: dict[str, str]
    faults: ScenarioFaults = ScenarioFaults()
    cancel: ScenarioCancel | None = None
    edit_pull_request: ScenarioPullEdit | None = None
    """Done before the run's event is posted."""
    reuse_workspace: bool = False
    """The run's job lands on the runner that ran the previous one, which keeps its workspace (a
    self-hosted runner that is not ephemeral): actions/checkout cleans and updates it in place."""
    start: ScenarioStart | None = None
    """When a later run starts while the one before it may still work; None: once that one ended."""


@dataclass(frozen=True)
class RepositorySettings:
    """How the repository is set up on GitHub beyond its files (``repository_settings``)."""

    private: bool = False
    plan: str = "free"
    """The GitHub plan of the account that owns it: free, pro, team or enterprise."""


@dataclass(frozen=True)
class Scenario:
    """One or more runs of the action, described from the outside."""

    path: Path
    repository: str
    issue_number: int | None
    issue_title: str
    issue_body: str
    issue_author: str
    issue_locked: bool
    issue_comments: tuple[ScenarioComment, ...]
    event: ScenarioEvent
    collaborators: dict[str, str]
    inputs: dict[str, str]
    model: list[list[dict]]
    raw: dict[str, Any] = field(repr=False)
    pull_request: ScenarioPullRequest | None = None
    later_runs: tuple[ScenarioRun, ...] = ()
    pending: str | None = None
    """Why the scenario cannot pass yet; the test suite skips it with this reason."""
    faults: ScenarioFaults = ScenarioFaults()
    """The first run's faults."""
    cancel: ScenarioCancel | None = None
    """When the runner cancels the first run, if it does."""
    images: tuple[ScenarioImage, ...] = ()
    """Local images the bench builds before the run (the repository names them)."""
    package_index: ScenarioIndex | None = None
    """A stand-in package index served during every run."""
    checkout: str = "v4"
    """How the runner's checkout persists the token: actions/checkout ``v4`` or ``v6``."""
    branches: dict[str, tuple[ScenarioCommit, ...]] = field(default_factory=dict)
    """More branches, each started from the default branch with its commits."""
    settings: RepositorySettings = RepositorySettings()
    custom_roles: dict[str, str] = field(default_factory=dict)
    """The owner's custom repository roles: name -> base role (``collaborators`` may name them)."""
    permissions: dict[str, str] | None = None
    """The job's ``permissions:`` (the workflow token's); None: the example workflow's."""
    gitlinks: dict[str, str] = field(default_factory=dict)
    """Submodule pointers in the initial commit: path -> commit sha (the submodule's commit need not exist)."""
    canary: bool = False
    """A listener on 127.0.0.1 that nothing may reach; its port is ``{canary_port}`` in the model script."""

    @property
    def repo_dir(self) -> Path:
        return self.path / "repo"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def event_name(self) -> str:
        return self.event.name

    @property
    def event_comment(self) -> str:
        return self.event.comment

    @property
    def event_author(self) -> str:
        return self.event.author

    @property
    def event_author_association(self) -> str:
        return self.event.author_association

    @property
    def event_inputs(self) -> dict[str, Any]:
        return self.event.inputs

    def runs(self) -> list[ScenarioRun]:
        """Every run in order, the first (top-level ``event``, ``model``, ``inputs``) included."""
        return [ScenarioRun(self.event, self.model, self.inputs, self.faults, self.cancel), *self.later_runs]

    def roles(self) -> dict[str, str]:
        """Repository role of each login: from author_association, overridden by ``collaborators``."""
        roles: dict[str, str] = {}
        for run in self.runs():
            roles.setdefault(run.event.author, _ROLE_BY_ASSOCIATION.get(run.event.author_association, "read"))
        roles.update(self.collaborators)
        return roles


def load_scenario(path: Path) -> Scenario:
    """Read ``path/scenario.yaml``; a missing required key is a clear error."""
    path = Path(path).resolve()
    data = yaml.safe_load((path / "scenario.yaml").read_text()) or {}
    issue = data.get("issue") or {}
    if "repository" not in data or "name" not in (data.get("event") or {}):
        raise ValueError(f"{path}/scenario.yaml needs `repository` and `event.name`")
    event = _event(data["event"], ScenarioEvent(name=""))
    inputs = {str(k): _input_text(v) for k, v in (data.get("inputs") or {}).items()}
    pull = data.get("pull_request")
    return Scenario(
        path=path,
        repository=str(data["repository"]),
        issue_number=issue.get("number"),
        issue_title=str(issue.get("title", "")),
        issue_body=str(issue.get("body", "")) * int(issue.get("body_repeat", 1)),
        issue_locked=bool(issue.get("locked", False)),
        issue_author=str(issue.get("author", event.author)),
        issue_comments=_comments(issue.get("comments")),
        event=event,
        collaborators={str(k): str(v) for k, v in (data.get("collaborators") or {}).items()},
        inputs=inputs,
        model=list(data.get("model") or []),
        raw=data,
        pull_request=_pull_request(pull, f"{path}: pull_request") if pull else None,
        later_runs=tuple(_run(run, event, inputs, f"{path}: runs[{i}]")
                         for i, run in enumerate(data.get("runs") or [])),
        pending=str(data["pending"]) if data.get("pending") else None,
        faults=read_faults(data.get("faults"), f"{path}: faults"),
        cancel=read_cancel(data, f"{path}"),
        images=read_images(data.get("images"), f"{path}: images"),
        package_index=read_index(data.get("package_index"), f"{path}: package_index"),
        checkout=_checkout(data.get("checkout", "v4"), f"{path}: checkout"),
        branches={str(name): _commits(commits, f"{path}: branches.{name}")
                  for name, commits in (data.get("branches") or {}).items()},
        settings=_repository_settings(data.get("repository_settings") or {}, f"{path}: repository_settings"),
        custom_roles={str(k): str(v) for k, v in (data.get("custom_roles") or {}).items()},
        permissions=_permissions(data.get("permissions"), f"{path}: permissions"),
        gitlinks={str(k): str(v) for k, v in (data.get("gitlinks") or {}).items()},
        canary=bool(data.get("canary", False)),
    )


def _repository_settings(data: dict, where: str) -> RepositorySettings:
    _only(data, set(RepositorySettings.__dataclass_fields__), where)
    settings = RepositorySettings(bool(data.get("private", False)), str(data.get("plan", "free")))
    if settings.plan not in PLANS:
        raise ValueError(f"{where}: plan {settings.plan!r} is not one of {PLANS}")
    return settings


def _permissions(data: Any, where: str) -> dict[str, str] | None:
    """A job's ``permissions:`` as a workflow writes it: a map of scopes, ``read-all`` or ``write-all``."""
    if data is None:
        return None
    if data in ("read-all", "write-all"):
        return {scope: data.removesuffix("-all") for scope in SCOPES}
    if not isinstance(data, dict) or any(str(v) not in ("read", "write", "none") for v in data.values()):
        raise ValueError(f"{where}: a map of scopes to read, write or none (or read-all, write-all)")
    return {str(k): str(v) for k, v in data.items()}


def _checkout(value: Any, where: str) -> str:
    if str(value) not in CHECKOUT_VERSIONS:
        raise ValueError(f"{where}: {value!r} is not one of {list(CHECKOUT_VERSIONS)}")
    return str(value)


def _event(data: dict, first: ScenarioEvent) -> ScenarioEvent:
    """An ``event`` block; author and association default to ``first``'s (the first run's event)."""
    return ScenarioEvent(
        name=str(data["name"]),
        comment=str(data.get("comment", "")),
        author=str(data.get("author", first.author)),
        author_association=str(data.get("author_association", first.author_association)),
        inputs={str(k): _input_text(v) for k, v in (data.get("inputs") or {}).items()},
        number=data.get("number"),
        path=str(data.get("path", "")),
        line=data.get("line"),
        side=str(data.get("side", "RIGHT")),
        diff_hunk=data.get("diff_hunk"),
        in_reply_to=data.get("in_reply_to"),
        review_body=str(data.get("review_body", "")),
        review_state=str(data.get("review_state", "commented")),
        review_comments=tuple(_review_comment({"author": "", **c}, "event.review_comments")
                              for c in data.get("review_comments") or []),
        edit_after=_edit(data["edit_after"], "event.edit_after") if data.get("edit_after") else None,
    )


def _edit(data: dict, where: str) -> ScenarioEdit:
    _only(data, {"issue_title", "issue_body", "comments"}, where)
    return ScenarioEdit(issue_title=data.get("issue_title"), issue_body=data.get("issue_body"),
                        comments={int(k): str(v) for k, v in (data.get("comments") or {}).items()})


def _run(data: dict, first: ScenarioEvent, inputs: dict[str, str], where: str) -> ScenarioRun:
    """A later run; its ``inputs`` go over the top-level ones."""
    _only(data, {"event", "model", "inputs", "faults", "cancel_at_turn", "cancel_after_s", "edit_pull_request",
                 "reuse_workspace",
                 "start_at_turn", "start_after_s"}, where)
    if "name" not in (data.get("event") or {}):
        raise ValueError(f"{where} needs `event.name`")
    edit = data.get("edit_pull_request")
    return ScenarioRun(_event(data["event"], first), list(data.get("model") or []),
                       {**inputs, **{str(k): _input_text(v) for k, v in (data.get("inputs") or {}).items()}},
                       read_faults(data.get("faults"), f"{where}.faults"), read_cancel(data, where),
                       _pull_edit(edit, f"{where}.edit_pull_request") if edit is not None else None,
                       bool(data.get("reuse_workspace", False)), read_start(data, where))


def _pull_edit(data: dict, where: str) -> ScenarioPullEdit:
    _only(data, set(ScenarioPullEdit.__dataclass_fields__), where)
    if not data.get("prepend") and not data.get("append"):
        raise ValueError(f"{where} needs `prepend` or `append`")
    return ScenarioPullEdit(number=data.get("number"), author=str(data.get("author", "octo-owner")),
                            prepend=str(data.get("prepend", "")), append=str(data.get("append", "")))


def _pull_request(data: dict, where: str) -> ScenarioPullRequest:
    _only(data, set(ScenarioPullRequest.__dataclass_fields__), where)
    if "title" not in data or "head" not in data:
        raise ValueError(f"{where} needs `title` and `head`")
    commits = _commits(data.get("commits"), f"{where}.commits")
    reviews = []
    for review in data.get("reviews") or []:
        _only(review, {"author", "body", "state"}, f"{where}.reviews")
        reviews.append(ScenarioReview(str(review["author"]), str(review.get("body", "")),
                                      str(review.get("state", "commented"))))
    return ScenarioPullRequest(
        **{key: data[key] for key in ("number", "base", "draft", "state", "merged", "head_deleted", "fork")
           if key in data},
        title=str(data["title"]), head=str(data["head"]), body=str(data.get("body", "")),
        author=str(data.get("author", "github-actions[bot]")), commits=commits,
        comments=_comments(data.get("comments")), reviews=tuple(reviews),
        review_comments=tuple(_review_comment(c, f"{where}.review_comments")
                              for c in data.get("review_comments") or []),
    )


def _commits(items: list | None, where: str) -> tuple[ScenarioCommit, ...]:
    commits = []
    for commit in items or []:
        _only(commit, {"message", "files", "author"}, where)
        commits.append(ScenarioCommit(str(commit["message"]), dict(commit.get("files") or {}), commit.get("author")))
    return tuple(commits)


def _review_comment(data: dict, where: str) -> ScenarioReviewComment:
    _only(data, set(ScenarioReviewComment.__dataclass_fields__), where)
    return ScenarioReviewComment(**{**data, "author": str(data["author"]), "body": str(data["body"])})


def _comments(items: list | None) -> tuple[ScenarioComment, ...]:
    return tuple(ScenarioComment(str(c["author"]), str(c["body"])) for c in items or [])


def _only(data: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")


def _input_text(value: Any) -> str:
    """Inputs reach an action as strings, as the runner renders them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
