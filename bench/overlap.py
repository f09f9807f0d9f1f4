"""Runs of one scenario that overlap: a later run may start while the one before it still works.

A later run (``runs:``) starts when the run listed before it ended, as before, unless it says
``start_at_turn`` (when that run's model server receives the request for this script turn: it
is then working on its branch, deterministic and preferred) or ``start_after_s`` (this many
seconds after that run started, i.e. after its event was posted). That is how `/code` comments
arriving close together are played: each run its own workflow run, at the same time, against
one emulator.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from bench.model.server import ModelServer


@dataclass(frozen=True)
class ScenarioStart:
    """When a later run starts, relative to the run before it."""

    at_turn: int | None = None
    """When the run before it asks the model for this script turn (from 0, as ``faults.model`` ``turn``)."""
    after_s: float | None = None
    """Seconds after the run before it started."""


def read_start(data: dict, where: str) -> ScenarioStart | None:
    """``start_at_turn`` / ``start_after_s`` of a later run; None: it starts once the run before it ended."""
    at_turn, after_s = data.get("start_at_turn"), data.get("start_after_s")
    if at_turn is None and after_s is None:
        return None
    if at_turn is not None and after_s is not None:
        raise ValueError(f"{where}: `start_at_turn` or `start_after_s`, not both")
    return ScenarioStart(at_turn=None if at_turn is None else int(at_turn),
                         after_s=None if after_s is None else float(after_s))


class Started(Protocol):
    """What a run shows of itself to the run after it."""

    began: float
    """`time.monotonic()` when the run started (0 until then)."""
    model: ModelServer | None
    """Its model server, once up."""


def run_in_turn(starts: list[ScenarioStart | None], runs: list[Started],
                execute: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """``execute(i)`` for each run, each started as its ``starts[i]`` says; the reports, in order.

    A start point the run before never reached is reported in the later run's ``unused_faults``
    (a scenario whose overlap did not happen proves nothing).
    """
    missed: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures: list[Future] = []
        for index, start in enumerate(starts):
            if index and not _wait(start, runs[index - 1], futures[-1]):
                missed[index] = f"start_at_turn={start.at_turn if start else None}: the run before ended first"
            futures.append(pool.submit(execute, index))
        reports = [future.result() for future in futures]
    for index, why in missed.items():
        reports[index] = {**reports[index], "unused_faults": [*reports[index]["unused_faults"], why]}
    return reports


def _wait(start: ScenarioStart | None, before: Started, running: Future) -> bool:
    """Wait until the run may start; False when the turn it waited for never came."""
    if start is None:
        running.result()
        return True
    while not before.began:
        _check(running)
        time.sleep(0.02)
    if start.after_s is not None:
        time.sleep(max(before.began + start.after_s - time.monotonic(), 0.0))
        return True
    assert start.at_turn is not None
    while not running.done():
        if before.model is not None and before.model.wait_for_turn(start.at_turn, timeout=0.1):
            return True
        time.sleep(0.02 if before.model is None else 0)
    _check(running)
    return False


def _check(running: Future) -> None:
    """A run before that failed in the bench itself fails the scenario now, not after a timeout."""
    if running.done():
        running.result()
