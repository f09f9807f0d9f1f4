"""Overlapping runs: a later run starts at the run before's model turn, some seconds after it, or after it."""

from __future__ import annotations

import threading
import time

import pytest

from bench.overlap import ScenarioStart, read_start, run_in_turn


class FakeModel:
    """A model server whose turns are asked when the test says so."""

    def __init__(self) -> None:
        self.asked = threading.Condition()
        self.highest = -1

    def ask(self, turn: int) -> None:
        with self.asked:
            self.highest = turn
            self.asked.notify_all()

    def wait_for_turn(self, turn: int, timeout: float | None = None) -> bool:
        with self.asked:
            return self.asked.wait_for(lambda: self.highest >= turn, timeout)


class FakeRun:
    def __init__(self) -> None:
        self.began, self.model = 0.0, None


def play(starts, script):
    """Runs whose bodies are ``script[i](run, events)``; the order things happened in."""
    runs, events, lock = [FakeRun() for _ in starts], [], threading.Lock()

    def execute(index: int) -> dict:
        run = runs[index]
        run.began, run.model = time.monotonic(), FakeModel()
        with lock:
            events.append(f"start {index}")
        script[index](run, lambda what: events.append(f"{what} {index}"))
        with lock:
            events.append(f"end {index}")
        return {"unused_faults": []}

    return run_in_turn(starts, runs, execute), events


def test_without_a_start_each_run_waits_for_the_one_before():
    reports, events = play([None, None], [lambda run, say: time.sleep(0.1), lambda run, say: None])
    assert events == ["start 0", "end 0", "start 1", "end 1"]


def test_a_run_starts_at_the_turn_of_the_run_before():
    def first(run, say):
        time.sleep(0.05)
        say("turn 1 asked")
        run.model.ask(1)
        time.sleep(0.3)

    reports, events = play([None, ScenarioStart(at_turn=1)], [first, lambda run, say: None])
    assert events == ["start 0", "turn 1 asked 0", "start 1", "end 1", "end 0"]
    assert reports == [{"unused_faults": []}, {"unused_faults": []}]


def test_a_run_starts_seconds_after_the_one_before_started():
    started = []

    def second(run, say):
        started.append(time.monotonic())

    reports, events = play([None, ScenarioStart(after_s=0.2)], [lambda run, say: time.sleep(0.5), second])
    assert events == ["start 0", "start 1", "end 1", "end 0"]


def test_a_turn_never_reached_is_reported_as_unused():
    reports, events = play([None, ScenarioStart(at_turn=3)], [lambda run, say: None, lambda run, say: None])
    assert events == ["start 0", "end 0", "start 1", "end 1"]
    assert reports[1]["unused_faults"] == ["start_at_turn=3: the run before ended first"]


def test_a_bench_failure_of_the_run_before_fails_at_once():
    def broken(run, say):
        raise RuntimeError("the bench broke")

    with pytest.raises(RuntimeError, match="the bench broke"):
        play([None, ScenarioStart(at_turn=0)], [broken, lambda run, say: None])


def test_start_keys_are_read_and_checked():
    assert read_start({}, "runs[0]") is None
    assert read_start({"start_at_turn": 2}, "runs[0]") == ScenarioStart(at_turn=2)
    assert read_start({"start_after_s": "1.5"}, "runs[0]") == ScenarioStart(after_s=1.5)
    with pytest.raises(ValueError, match="not both"):
        read_start({"start_at_turn": 1, "start_after_s": 1}, "runs[0]")
