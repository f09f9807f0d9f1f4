"""A run's world misbehaving: a scenario's ``faults`` and cancel point, read, put into the emulators, watched for.

``faults.github`` entries become GitHub emulator faults (`bench.github.faults`), ``faults.model``
entries model server faults; each is installed right before the run's action
container starts, so seeding and the runner's checkout never meet them. A fault
that never hit a request is reported (``unused_faults``): a scenario whose fault
missed proves nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bench.github.faults import GitHubFault
from bench.github.emulator import GitHubEmulator
from bench.model.server import Fault as ModelServerFault
from bench.model.server import ModelServer


@dataclass(frozen=True)
class ScenarioFaults:
    """What goes wrong during one run, installed before its action container starts."""

    github: tuple[GitHubFault, ...] = ()
    model: tuple[ModelServerFault, ...] = ()
    """As the model server takes them; each run installs copies (a fault counts its hits down)."""


@dataclass(frozen=True)
class ScenarioCancel:
    """When the runner cancels the job (SIGINT, SIGTERM 7.5 s later, then a kill), as on GitHub."""

    at_turn: int | None = None
    """When the request for this script turn (from 0, as ``faults.model`` ``turn``) reaches the model."""
    after_s: float | None = None
    """Seconds after the action container started."""


def read_faults(data: dict | None, where: str) -> ScenarioFaults:
    """A ``faults`` block: ``github`` and ``model`` lists, each entry's keys checked."""
    data = data or {}
    _known_keys(data, {"github", "model"}, where)
    github = []
    for index, entry in enumerate(data.get("github") or []):
        _known_keys(entry, set(GitHubFault.__dataclass_fields__), f"{where}.github[{index}]")
        if "method" not in entry or "path" not in entry:
            raise ValueError(f"{where}.github[{index}] needs `method` and `path`")
        if entry.get("rate_limit") not in (None, "primary", "secondary"):
            raise ValueError(f"{where}.github[{index}].rate_limit: `primary` or `secondary`")
        github.append(GitHubFault(**{**entry, "method": str(entry["method"]), "path": str(entry["path"]),
                                     "headers": {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}}))
    model = []
    for index, entry in enumerate(data.get("model") or []):
        _known_keys(entry, set(ModelServerFault.__dataclass_fields__), f"{where}.model[{index}]")
        model.append(ModelServerFault(**entry))
    return ScenarioFaults(tuple(github), tuple(model))


def read_cancel(data: dict, where: str) -> ScenarioCancel | None:
    """``cancel_at_turn`` / ``cancel_after_s`` of a run, or None when the run is not cancelled."""
    at_turn, after_s = data.get("cancel_at_turn"), data.get("cancel_after_s")
    if at_turn is None and after_s is None:
        return None
    if at_turn is not None and after_s is not None:
        raise ValueError(f"{where}: `cancel_at_turn` or `cancel_after_s`, not both")
    return ScenarioCancel(at_turn=None if at_turn is None else int(at_turn),
                          after_s=None if after_s is None else float(after_s))


def _known_keys(data: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")


@dataclass(frozen=True)
class Installed:
    """One fault as installed, and how to tell whether it hit anything."""

    description: str
    used: Callable[[], bool]
    remove: Callable[[], None] = lambda: None
    """Take it out of the emulator (a model server's faults go with the server)."""


def install_faults(faults: ScenarioFaults, github: GitHubEmulator, model: ModelServer) -> list[Installed]:
    """Put ``faults`` into the emulator and the model server; what was installed, in order."""
    installed = [_github_fault(fault, github) for fault in faults.github]
    for fault in faults.model:
        server_fault = replace(fault)
        model.faults.append(server_fault)
        installed.append(Installed(_describe("model", fault), lambda f=server_fault, n=fault.times: f.times < n))
    return installed


def unused(installed: list[Installed]) -> list[str]:
    """Descriptions of the faults that hit no request."""
    return [fault.description for fault in installed if not fault.used()]


def _github_fault(fault: GitHubFault, github: GitHubEmulator) -> Installed:
    added = github.faults.install(fault)
    return Installed(_describe("github", fault), lambda: added.hits > 0, lambda: github.faults.remove(added))


def _describe(where: str, fault: GitHubFault | ModelServerFault) -> str:
    fields = {name: value for name, value in vars(fault).items()
              if value is not None and value is not False and name not in ("body", "headers")
              and not (name == "delay" and value == 0)}
    return f"faults.{where}: " + ", ".join(f"{name}={value!r}" for name, value in fields.items())


class CancelWatch:
    """Sets ``trigger`` when the model server receives the request for ``cancel.at_turn``."""

    def __init__(self, cancel: ScenarioCancel | None, model: ModelServer) -> None:
        self.trigger = threading.Event()
        self.after_s = cancel.after_s if cancel else None
        self._turn = cancel.at_turn if cancel else None
        self._model = model
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> CancelWatch:
        if self._turn is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._model.wait_for_turn(self._turn, timeout=0.1):
                self.trigger.set()
                return
