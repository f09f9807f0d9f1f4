"""A scenario's faults and cancel point: read from scenario.yaml, installed in the emulators, reported when unused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import requests

from bench.run import transcript_result
from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe
from bench.misbehaviour import (
    CancelWatch,
    GitHubFault,
    ScenarioCancel,
    ScenarioFaults,
    install_faults,
    unused,
)
from bench.model.server import Fault, ModelServer
from bench.scenario import load_scenario

REPO = "octo-org/textstats"
TOKEN = "ghs_" + "f" * 36
HEAD = """\
repository: octo-org/textstats
issue: {number: 7, title: T, body: "ab\\n", body_repeat: 3}
event: {name: issue_comment, comment: /code}
"""


def scenario_at(tmp_path: Path, text: str):
    (tmp_path / "scenario.yaml").write_text(HEAD + textwrap.dedent(text))
    return load_scenario(tmp_path)


def test_faults_and_cancel_are_read_for_each_run(tmp_path):
    scenario = scenario_at(tmp_path, """\
        cancel_at_turn: 2
        faults:
          github:
            - {method: POST, path: '/pulls$', rate_limit: secondary, retry_after: 2}
          model:
            - {turn: 1, stream_error: true}
        runs:
          - event: {name: issue_comment, comment: /code again}
            cancel_after_s: 1.5
            faults: {model: [{delay: 1, times: 100}]}
        """)
    first, second = scenario.runs()
    assert scenario.issue_body == "ab\nab\nab\n"
    assert first.faults == ScenarioFaults(
        github=(GitHubFault("POST", "/pulls$", rate_limit="secondary", retry_after=2),),
        model=(Fault(turn=1, stream_error=True),))
    assert first.cancel == ScenarioCancel(at_turn=2)
    assert second.faults == ScenarioFaults(model=(Fault(delay=1, times=100),))
    assert second.cancel == ScenarioCancel(after_s=1.5)


@pytest.mark.parametrize("text, error", [
    ("faults: {github: [{method: GET, path: x, stauts: 500}]}", r"unknown keys \['stauts'\]"),
    ("faults: {github: [{path: x, status: 500}]}", "needs `method` and `path`"),
    ("faults: {github: [{method: GET, path: x, rate_limit: tertiary}]}", "`primary` or `secondary`"),
    ("faults: {model: [{turns: 1}]}", r"unknown keys \['turns'\]"),
    ("faults: {gitlab: []}", r"unknown keys \['gitlab'\]"),
    ("cancel_at_turn: 1\ncancel_after_s: 2", "not both"),
])
def test_a_mistyped_fault_is_an_error(tmp_path, text, error):
    with pytest.raises(ValueError, match=error):
        scenario_at(tmp_path, text)


@pytest.fixture
def github(tmp_path: Path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "README.md").write_text("# textstats\n")
    with GitHubEmulator(tmp_path / "github") as emulator:
        emulator.add_token(TOKEN, "github-actions[bot]", type="Bot")
        emulator.create_repo(REPO, tmp_path / "files")
        emulator.create_issue(REPO, "T", "B", "octo-owner", number=7)
        yield emulator
        assert not emulator.spec_violations, describe(emulator.spec_violations)


def test_github_faults_answer_as_github_and_unused_ones_are_reported(github):
    faults = ScenarioFaults(github=(
        GitHubFault("GET", "/issues/7$", rate_limit="secondary", retry_after=2),
        GitHubFault("GET", "/issues/7$", rate_limit="primary", reset_in=30),
        GitHubFault("GET", "/issues/7$", status=502, body={"message": "Bad gateway"}, retry_after=1),
        GitHubFault("DELETE", "/never$", status=500),
    ))
    with ModelServer([], "/ws") as model:
        installed = install_faults(faults, github, model)
        url = f"{github.api_url}/repos/{REPO}/issues/7"
        secondary, primary, gateway, served = (requests.get(url, headers={"Authorization": f"token {TOKEN}"},
                                                            timeout=5) for _ in range(4))
    assert (secondary.status_code, secondary.headers["Retry-After"]) == (403, "2")
    assert "secondary rate limit" in secondary.json()["message"]
    assert (primary.status_code, primary.headers["X-RateLimit-Remaining"]) == (403, "0")
    assert "X-RateLimit-Reset" in primary.headers
    assert (gateway.status_code, gateway.json(), gateway.headers["Retry-After"]) == (502, {"message": "Bad gateway"},
                                                                                     "1")
    assert served.status_code == 200
    assert unused(installed) == ["faults.github: method='DELETE', path='/never$', status=500, times=1"]
    assert [r["status"] for r in github.api_requests(since=0)] == [403, 403, 502, 200]
    assert all(r["time"] > 0 for r in github.api_requests(since=0))


def test_model_faults_are_installed_and_reported_until_they_hit(github):
    with ModelServer([[{"type": "text", "text": "hi"}]], "/ws") as model:
        installed = install_faults(ScenarioFaults(model=(Fault(turn=0, status=529, times=2),)), github, model)
        assert unused(installed) == ["faults.model: turn=0, status=529, times=2"]
        body = {"model": "m", "max_tokens": 5, "tools": [{"name": "Read", "input_schema": {}}],
                "messages": [{"role": "user", "content": "x"}]}
        answered = requests.post(model.url + "/v1/messages", json=body, timeout=5)
        assert answered.status_code == 529 and unused(installed) == []


def test_cancel_watch_fires_when_the_turn_is_asked_for():
    with ModelServer([[{"type": "text", "text": "hi"}]], "/ws") as model, \
            CancelWatch(ScenarioCancel(at_turn=0), model) as watch:
        assert not watch.trigger.wait(0.2)
        body = {"model": "m", "max_tokens": 5, "tools": [{"name": "Read", "input_schema": {}}],
                "messages": [{"role": "user", "content": "x"}]}
        requests.post(model.url + "/v1/messages", json=body, timeout=5)
        assert watch.trigger.wait(2) and watch.after_s is None


def test_transcript_result_is_the_last_result_message(tmp_path):
    path = tmp_path / "transcript.jsonl"
    lines = [{"type": "system", "subtype": "init"}, {"type": "result", "num_turns": 1},
             {"type": "assistant"}, {"type": "result", "num_turns": 3, "total_cost_usd": 0.01}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    assert transcript_result(str(path)) == {"type": "result", "num_turns": 3, "total_cost_usd": 0.01}
    assert transcript_result(str(tmp_path / "missing.jsonl")) is None
    assert transcript_result("") is None
