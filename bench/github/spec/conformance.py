"""Every exchange of the GitHub emulator checked against GitHub's own descriptions of its API.

`GitHubEmulator.serve` hands each REST and GraphQL exchange to its `SpecCheck`; what GitHub's
OpenAPI description (REST) or GraphQL schema says is wrong with the request or the answer lands
in ``spec_violations``, unless an entry of ``allowlist.yaml`` excuses it (a place where GitHub
itself departs from its description, each with its reason). A violation is data, never an
exception in the server's thread: the client still gets the emulator's answer.

The descriptions are pinned npm packages (``packages.txt``) that ``scripts/bootstrap`` installs
into a cache folder named by the pins; tests only read it. They are loaded once per process, on
the first exchange that needs them (REST ~0.2 s, GraphQL ~1.2 s); a check then takes ~0.1 ms.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.github.spec.graphql_schema import GraphQLSchemaCheck
from bench.github.spec.openapi import Description

HERE = Path(__file__).resolve().parent
PINS = HERE / "packages.txt"
ALLOWLIST = HERE / "allowlist.yaml"
DEFAULT_CACHE = Path("/var/tmp/codeagent-bench/github-spec")
"""Where ``scripts/bootstrap`` installs the packages unless ``CODEAGENT_SPEC_CACHE`` says otherwise."""
REST_FILE = "node_modules/@octokit/openapi/generated/api.github.com.json"
GRAPHQL_FILE = "node_modules/@octokit/graphql-schema/schema.graphql"


class SpecMissing(RuntimeError):
    """GitHub's API descriptions are not installed where the bench looks for them."""


def spec_folder() -> Path:
    """The cache folder of the pinned packages (``scripts/bootstrap`` names it the same way)."""
    root = Path(os.environ.get("CODEAGENT_SPEC_CACHE") or DEFAULT_CACHE)
    return root / hashlib.sha256(PINS.read_bytes()).hexdigest()[:12]


def require_installed() -> Path:
    """The cache folder, or a `SpecMissing` that says how to fill it."""
    folder = spec_folder()
    if not (folder / ".complete").is_file():
        pins = " ".join(PINS.read_text().split())
        raise SpecMissing(f"GitHub's API descriptions ({pins}) are not in {folder}: run scripts/bootstrap, "
                          "which installs them with npm (CODEAGENT_SPEC_CACHE moves the cache)")
    return folder


_loaded: dict[str, Any] = {}
_loading = threading.Lock()


def rest_description() -> Description:
    """GitHub's OpenAPI description, loaded on first use, once per process."""
    with _loading:
        if "rest" not in _loaded:
            _loaded["rest"] = Description.load(require_installed() / REST_FILE)
        return _loaded["rest"]


def preload() -> None:
    """Load both descriptions now (about a second, once per process), so that no request the emulator
    answers waits for them: GitHub's first GraphQL answer takes no longer than its others."""
    rest_description()
    graphql_schema()


def graphql_schema() -> GraphQLSchemaCheck:
    """GitHub's GraphQL schema, loaded on first use, once per process."""
    with _loading:
        if "graphql" not in _loaded:
            _loaded["graphql"] = GraphQLSchemaCheck.load(require_installed() / GRAPHQL_FILE)
        return _loaded["graphql"]


@dataclass(frozen=True)
class Allowed:
    """A known departure of GitHub from its description: which problems it excuses, and why."""

    operation: str
    """operationId (``pulls/create``), or ``graphql``; shell-style wildcards."""
    problem: str
    """The problem's text, shell-style wildcards."""
    reason: str
    status: int | None = None
    message: str | None = None
    """The answer's ``message`` (GitHub's error text), shell-style wildcards; None: any answer."""

    def excuses(self, operation: str, status: int, problem: str, message: str) -> bool:
        return fnmatch.fnmatchcase(operation, self.operation) and self.status in (None, status) \
            and fnmatch.fnmatchcase(problem, self.problem) \
            and (self.message is None or fnmatch.fnmatchcase(message, self.message))

    def __str__(self) -> str:
        said = f" ({self.message})" if self.message else ""
        return f"{self.operation} {self.status or '*'}{said}: {self.problem}"


def load_allowlist(path: Path = ALLOWLIST) -> tuple[Allowed, ...]:
    """The allowlist file: a list of ``{operation, status?, message?, problem, reason}``, each with its reason."""
    entries = yaml.safe_load(path.read_text()) or []
    allowed = []
    for entry in entries:
        unknown = set(entry) - {"operation", "status", "message", "problem", "reason"}
        if unknown or not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: {entry}: keys are operation, status, message, problem and reason "
                             "(required)")
        allowed.append(Allowed(str(entry["operation"]), str(entry["problem"]), str(entry["reason"]),
                               entry.get("status"), entry.get("message")))
    return tuple(allowed)


USED: set[Allowed] = set()
"""Allowlist entries some exchange of this process needed (for the test session's closing note)."""
CHECKED = threading.Event()
"""Set once this process has checked an exchange."""


class SpecCheck:
    """The checks of one emulator: ``violations`` (what no allowlist entry excuses) and ``used`` entries."""

    def __init__(self, allowlist: tuple[Allowed, ...] | None = None) -> None:
        self.allowlist = load_allowlist() if allowlist is None else allowlist
        self.violations: list[dict[str, Any]] = []
        self.used: set[Allowed] = set()
        self._lock = threading.Lock()

    def check(self, method: str, kind: str, path: str, query: str, body: bytes, status: int,
              headers: dict[str, str], payload: bytes, answer_is_ours: bool = True) -> None:
        """Check one exchange; ``answer_is_ours`` False (a scenario's fault answered) checks the request only."""
        try:
            operation, problems = self._problems(method, kind, path, query, body, status, headers, payload,
                                                 answer_is_ours)
        except Exception as error:  # a bug of the check: said, never raised into the server's thread
            operation, problems = "?", [f"the check itself failed: {type(error).__name__}: {error}"]
        CHECKED.set()
        message = _message(payload)
        left = [problem for problem in problems if not self._excused(operation, status, problem, message)]
        if left:
            with self._lock:
                self.violations.append({"method": method, "path": path, "query": query, "status": status,
                                        "operation": operation, "problems": left})

    def _problems(self, method: str, kind: str, path: str, query: str, body: bytes, status: int,
                  headers: dict[str, str], payload: bytes, answer_is_ours: bool) -> tuple[str, list[str]]:
        request, request_ok = _json(body)
        response, response_ok = _json(payload)
        problems = [] if request_ok else ["request: the body is not JSON"]
        if answer_is_ours and not response_ok:
            problems.append("response: the body is not JSON")
        if kind == "graphql":
            return "graphql", problems + graphql_schema().check(request, response, answer_is_ours and response_ok)
        description = rest_description()
        operation = description.operation(method, path)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
        found = description.check(method, path, query, request, status, response, content_type,
                                  sent_body=bool(body.strip()), check_response=answer_is_ours and response_ok)
        return (operation.operation_id if operation else f"{method} {path}"), problems + [str(p) for p in found]

    def _excused(self, operation: str, status: int, problem: str, message: str) -> bool:
        for entry in self.allowlist:
            if entry.excuses(operation, status, problem, message):
                with self._lock:
                    self.used.add(entry)
                    USED.add(entry)
                return True
        return False


def _json(data: bytes) -> tuple[Any, bool]:
    """The parsed body (None when empty) and whether it parsed."""
    if not data.strip():
        return None, True
    try:
        return json.loads(data), True
    except ValueError:
        return None, False


def _message(payload: bytes) -> str:
    """The ``message`` of an error answer ("" for any other)."""
    answer, _ = _json(payload)
    return str(answer.get("message", "")) if isinstance(answer, dict) else ""


def unused_allowlist() -> list[Allowed]:
    """Allowlist entries no exchange of this process needed."""
    return [entry for entry in load_allowlist() if entry not in USED]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations one per line, for an assertion's message."""
    return "\n".join(f"{v['method']} {v['path']}{'?' + v['query'] if v['query'] else ''} -> {v['status']} "
                     f"({v['operation']}): {problem}" for v in violations for problem in v["problems"])
