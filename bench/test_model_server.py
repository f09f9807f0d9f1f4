"""The scripted model server: its wire format over real HTTP, and the real CLI on it."""

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from bench.cli import TEST_API_KEY, run_claude
from bench.model.server import FINAL_TEXT, SIDE_TEXT, Fault, ModelServer

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [{"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}}]
READ = {"type": "tool_use", "name": "Read", "input": {"file_path": "{workspace}/a.py"}}
SAY = {"type": "text", "text": "Let me look at the file first."}


def post(server, body, path="/v1/messages?beta=true", headers=None):
    """POST ``body`` to the server as the CLI would."""
    headers = {"x-api-key": TEST_API_KEY, "anthropic-version": "2023-06-01", **(headers or {})}
    return requests.post(server.url + path, json=body, headers=headers, timeout=10)


def turn_request(stream=True, **extra):
    """A request of the agent loop: it carries tools."""
    return {"model": "claude-sonnet-4-5", "max_tokens": 1000, "stream": stream,
            "tools": TOOLS, "messages": [{"role": "user", "content": "hi"}], **extra}


def side_request():
    """A request without tools, such as title generation."""
    return {"model": "claude-haiku-4-5", "max_tokens": 50,
            "messages": [{"role": "user", "content": "Title?"}]}


def sse_events(response):
    """The (event, data) pairs of a streamed answer."""
    events = []
    for chunk in response.text.strip().split("\n\n"):
        name, data = chunk.split("\n")
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def reassemble(events):
    """The content blocks a client builds from streamed events."""
    blocks, partial = {}, {}
    for name, data in events:
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
            partial[data["index"]] = ""
        elif name == "content_block_delta" and data["delta"]["type"] == "text_delta":
            blocks[data["index"]]["text"] += data["delta"]["text"]
        elif name == "content_block_delta":
            partial[data["index"]] += data["delta"]["partial_json"]
        elif name == "content_block_stop" and blocks[data["index"]]["type"] == "tool_use":
            blocks[data["index"]]["input"] = json.loads(partial[data["index"]])
    return [blocks[i] for i in sorted(blocks)]


@pytest.fixture
def server():
    with ModelServer([[SAY, READ], [{"type": "text", "text": "Done: {workspace}"}]],
                     "/ws") as running:
        yield running


def test_streamed_turn_follows_the_real_event_sequence(server):
    events = sse_events(post(server, turn_request()))

    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    tool_deltas = [d for n, d in events if n == "content_block_delta" and d["index"] == 1]
    assert len(tool_deltas) > 2 and tool_deltas[0]["delta"]["type"] == "input_json_delta"
    blocks = reassemble(events)
    assert blocks[0] == SAY
    assert blocks[1]["input"] == {"file_path": "/ws/a.py"}
    assert blocks[1]["id"].startswith("toolu_")
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[0][1]["message"]["id"].startswith("msg_")


def test_usage_is_realistic_enough_for_a_cost(server):
    first = post(server, turn_request(stream=False)).json()["usage"]
    later = turn_request(stream=False, messages=[{"role": "user", "content": "hi"}] * 3)
    second = post(server, later).json()["usage"]

    assert first["cache_creation_input_tokens"] > 0 and first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] > 0
    assert all(first[k] > 0 for k in ("input_tokens", "output_tokens"))


def test_answers_without_stream_as_one_json_message(server):
    answer = post(server, turn_request(stream=False)).json()

    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert answer["content"][1]["input"] == {"file_path": "/ws/a.py"}
    assert answer["stop_reason"] == "tool_use"


def test_turns_advance_only_on_requests_with_tools(server):
    side = post(server, side_request()).json()
    first = post(server, turn_request(stream=False)).json()
    side_again = post(server, {**side_request(), "stream": True})
    second = post(server, turn_request(stream=False)).json()
    after_script = post(server, turn_request(stream=False)).json()

    assert side["content"] == [{"type": "text", "text": SIDE_TEXT}]
    assert reassemble(sse_events(side_again)) == [{"type": "text", "text": SIDE_TEXT}]
    assert first["content"][0] == SAY
    assert second["content"] == [{"type": "text", "text": "Done: /ws"}]
    assert second["stop_reason"] == "end_turn"
    assert after_script["content"] == [{"type": "text", "text": FINAL_TEXT}]
    assert [r.turn for r in server.requests] == [None, 0, None, 1, 2]
    assert [r.has_tools for r in server.requests] == [False, True, False, True, True]
    assert server.request_count() == 5


def test_substitutes_the_workspace_in_nested_input():
    nested = {"type": "tool_use", "name": "MultiEdit",
              "input": {"edits": [{"file": "{workspace}/x", "n": 1}], "cwd": "{workspace}"}}
    with ModelServer([[nested]], "/w s") as server:
        answer = post(server, turn_request(stream=False)).json()

    assert answer["content"][0]["input"] == {"edits": [{"file": "/w s/x", "n": 1}], "cwd": "/w s"}


def test_concurrent_turns_are_each_served_once():
    script = [[{"type": "text", "text": f"turn {k}"}] for k in range(8)]
    with ModelServer(script, "/ws") as server, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(server, turn_request(stream=False)).json(),
                                range(8)))

    assert sorted(a["content"][0]["text"] for a in answers) == [f"turn {k}" for k in range(8)]
    assert sorted(r.turn for r in server.requests) == list(range(8))


def test_reports_secrets_seen_outside_the_api_key_headers(server):
    server.add_secret("GITHUB_TOKEN", "ghs_secret1")
    server.add_secret("ANTHROPIC_API_KEY", TEST_API_KEY)
    server.add_secret("OTHER", "never-sent")
    server.add_secret("IN_HEADER", "hdr-value")
    body = turn_request(messages=[{"role": "user", "content": "token is ghs_secret1"}])
    post(server, body, headers={"authorization": "Bearer " + TEST_API_KEY,
                                "x-custom": "hdr-value"})

    assert server.leaked_secrets() == ["GITHUB_TOKEN", "IN_HEADER"]


def test_secrets_given_at_start_are_watched():
    with ModelServer([], "/ws", secrets={"TOKEN": "ghp_abc"}) as server:
        post(server, side_request(), path="/v1/messages?t=ghp_abc")

    assert server.leaked_secrets() == ["TOKEN"]


@pytest.mark.parametrize("status,kind", [(429, "rate_limit_error"), (500, "api_error"),
                                         (529, "overloaded_error")])
def test_fault_answers_an_error_and_keeps_the_turn(server, status, kind):
    server.faults.append(Fault(request=2, status=status, retry_after=3))
    post(server, side_request())
    failed = post(server, turn_request())
    retried = post(server, turn_request(stream=False)).json()

    assert failed.status_code == status
    assert failed.headers["retry-after"] == "3"
    assert failed.json() == {"type": "error", "error": {"type": kind, "message": kind.replace("_", " ")}}
    assert retried["content"][0] == SAY
    assert [r.turn for r in server.requests] == [None, None, 0]


def test_fault_for_a_turn_hits_it_as_often_as_asked(server):
    server.faults.append(Fault(turn=1, status=529, times=2))
    statuses = [post(server, turn_request(stream=False)).status_code for _ in range(4)]

    assert statuses == [200, 529, 529, 200]
    assert [r.turn for r in server.requests] == [0, None, None, 1]


def test_fault_delays_the_answer(server):
    server.faults.append(Fault(delay=0.3))
    started = time.monotonic()
    answer = post(server, turn_request(stream=False)).json()

    assert time.monotonic() - started >= 0.3
    deadline = time.monotonic() + 5  # counted once the answer is sent, which the client may read first
    while server.model_seconds < 0.3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.model_seconds >= 0.3
    assert answer["content"][0] == SAY


def test_fault_breaks_the_stream_with_an_error_event(server):
    server.faults.append(Fault(stream_error=True))
    broken = sse_events(post(server, turn_request()))
    retried = post(server, turn_request(stream=False)).json()

    assert [name for name, _ in broken] == ["message_start", "ping", "content_block_start", "error"]
    assert broken[-1][1]["error"]["type"] == "overloaded_error"
    assert retried["content"][0] == SAY


def test_other_endpoints(server):
    tokens = post(server, turn_request(), path="/v1/messages/count_tokens?beta=true")
    probe = requests.head(server.url + "/api/hello", timeout=5)
    unknown = requests.get(server.url + "/v1/nothing", timeout=5)

    assert tokens.json()["input_tokens"] > 0
    assert probe.status_code == 200
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"
    assert server.request_count() == 0
    assert [r.path for r in server.requests][-1] == "/v1/nothing"


def test_lists_a_model_for_the_key_check(server):
    listed = requests.get(server.url + "/v1/models?limit=1", headers={"x-api-key": TEST_API_KEY}, timeout=5)

    assert listed.status_code == 200
    assert listed.json()["data"][0]["type"] == "model" and listed.json()["has_more"] is False
    assert server.request_count() == 0


def test_wait_for_turn_returns_once_the_turn_is_asked_for_before_it_is_answered(server):
    server.faults.append(Fault(turn=1, delay=1.0))
    assert not server.wait_for_turn(0, timeout=0.05)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, server, turn_request(stream=False)).result()
        slow = pool.submit(post, server, turn_request(stream=False))
        started = time.monotonic()
        assert server.wait_for_turn(1, timeout=5) and time.monotonic() - started < 0.9
        assert not slow.done()
        slow.result()
    assert first.status_code == 200 and server.wait_for_turn(0, timeout=0)


def load_scenario(name):
    """The scenario's YAML as a dict."""
    return yaml.safe_load((ROOT / "scenarios" / name / "scenario.yaml").read_text())


def result_message(stdout):
    """The last stream-json message: the CLI's ``result``."""
    messages = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return messages[-1]


@pytest.fixture
def workspace(tmp_path):
    """A copy of add-word-count's repo, with an empty home for the CLI beside it."""
    shutil.copytree(ROOT / "scenarios" / "add-word-count" / "repo", tmp_path / "workspace")
    (tmp_path / "home").mkdir()
    return tmp_path / "workspace"


@pytest.mark.cli
@pytest.mark.timeout(120)
def test_real_cli_runs_the_add_word_count_script(workspace):
    prompt = "Please add word_count (bench prompt 7f3a)."
    with ModelServer(load_scenario("add-word-count")["model"], str(workspace)) as server:
        done = run_claude(prompt, server.url, workspace, workspace.parent / "home")

    assert done.returncode == 0, done.stderr
    result = result_message(done.stdout)
    assert result["type"] == "result" and result["subtype"] == "success", result
    assert result["num_turns"] > 1
    assert result["total_cost_usd"] > 0
    assert "def word_count" in (workspace / "textstats" / "__init__.py").read_text()
    assert (workspace / "tests" / "test_word_count.py").exists()
    assert prompt in json.dumps(server.requests[0].body)
    assert [r.turn for r in server.requests if r.has_tools] == [0, 1, 2, 3, 4]
    assert server.leaked_secrets() == []


@pytest.mark.cli
@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", [Fault(turn=1, status=529, retry_after=0),
                                   Fault(turn=1, stream_error=True)],
                         ids=["overloaded", "broken-stream"])
def test_real_cli_retries_a_failed_turn(workspace, fault):
    # After a broken stream, Claude Code 2.1.330 retries without streaming, so
    # this also drives the JSON answer.
    with ModelServer(load_scenario("add-word-count")["model"], str(workspace)) as server:
        server.faults.append(fault)
        done = run_claude("Add word_count.", server.url, workspace, workspace.parent / "home")

    assert result_message(done.stdout)["subtype"] == "success"
    assert server.request_count() == 6
    assert (workspace / "tests" / "test_word_count.py").exists()


@pytest.mark.parametrize("name,subtype,is_error", [("add-word-count", "success", False),
                                                   ("max-turns", "error_max_turns", True),
                                                   ("api-error", "success", True)])
def test_recorded_transcripts_are_whole_and_stable(name, subtype, is_error):
    # Regenerate with: .venv/bin/python -m bench.record_transcript
    text = (ROOT / "tests" / "fixtures" / "transcripts" / f"{name}.jsonl").read_text()
    result = result_message(text)

    assert (result["type"], result["subtype"], result["is_error"]) == ("result", subtype, is_error)
    assert json.loads(text.splitlines()[0])["cwd"] == "/workspace"
    assert "/tmp/tmp" not in text and TEST_API_KEY not in text
