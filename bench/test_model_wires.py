"""The scripted model server's OpenAI and Gemini APIs over real HTTP (Anthropic's: test_model_server.py)."""

import json

import pytest
import requests

from bench.model.server import FINAL_TEXT, SIDE_TEXT, Fault, ModelServer
from codeagent.gateway.prices import cost_usd

KEY = "sk-bench-0123456789"
PATCH = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n"
OPENAI_TOOLS = [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
                {"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}}]
GEMINI_TOOLS = [{"functionDeclarations": [{"name": "run_shell_command"}, {"name": "write_file"}]}]
GEMINI_PATH = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
SCRIPT = [[{"type": "text", "text": "Looking in {workspace}."},
           {"type": "tool_use", "name": "exec_command", "input": {"cmd": "ls"}},
           {"type": "tool_use", "name": "apply_patch", "input": PATCH}],
          [{"type": "tool_use", "name": "run_shell_command", "input": {"command": "ls"}}]]


@pytest.fixture
def server():
    with ModelServer(SCRIPT, "/ws") as running:
        yield running


def responses_call(server, tools=True, stream=True, headers=None, path="/v1/responses"):
    body = {"model": "gpt-5.5", "stream": stream, "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "add word_count"}]}]}
    if tools:
        body["tools"] = OPENAI_TOOLS
    return requests.post(server.url + path, json=body, headers=headers or {"authorization": f"Bearer {KEY}"},
                         timeout=10)


def gemini_call(server, tools=True, path=GEMINI_PATH, headers=None, **extra):
    body = {"contents": [{"role": "user", "parts": [{"text": "add word_count"}]}], **extra}
    if tools:
        body["tools"] = GEMINI_TOOLS
    return requests.post(server.url + path, json=body, headers=headers or {"x-goog-api-key": KEY}, timeout=10)


def sse(response) -> list[tuple[str | None, dict]]:
    """(event name or None, data) of each server-sent event."""
    events = []
    for chunk in response.text.replace("\r\n", "\n").strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.split("\n"))
        events.append((lines.get("event"), json.loads(lines["data"])))
    return events


# --- OpenAI Responses API --------------------------------------------------------------

def test_a_responses_turn_streams_the_api_s_event_sequence_with_each_tool_in_its_kind(server):
    events = sse(responses_call(server))

    names = [name for name, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"] and names[-1] == "response.completed"
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    done = [data["item"] for name, data in events if name == "response.output_item.done"]
    assert done[0]["content"][0]["text"] == "Looking in /ws."
    assert (done[1]["type"], done[1]["name"], json.loads(done[1]["arguments"])) == ("function_call", "exec_command",
                                                                                    {"cmd": "ls"})
    assert (done[2]["type"], done[2]["input"]) == ("custom_tool_call", PATCH)  # declared as a custom tool
    usage = events[-1][1]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_side_requests_and_paths_without_v1_are_served_without_advancing_the_script(server):
    side = responses_call(server, tools=False, stream=False).json()
    turn = responses_call(server, path="/responses")
    after = responses_call(server, stream=False).json()

    assert side["output"][0]["content"][0]["text"] == SIDE_TEXT
    assert turn.status_code == 200
    assert after["output"][0]["type"] == "function_call"  # turn 1 of the script, in OpenAI's shape
    assert [r.turn for r in server.requests] == [None, 0, 1] and server.request_count() == 3


def test_a_wrong_bearer_token_gets_openai_s_401_and_the_key_check_its_model_list(server):
    server.api_key = KEY
    refused = responses_call(server, headers={"authorization": "Bearer sk-wrong"})
    models = requests.get(server.url + "/v1/models", headers={"authorization": f"Bearer {KEY}"}, timeout=5)

    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert models.json()["data"][0]["id"] == "gpt-5.5"


def test_openai_faults_keep_the_turn_and_a_broken_stream_has_no_completion(server):
    server.faults += [Fault(request=1, status=500), Fault(request=2, stream_error=True),
                      Fault(request=3, status=400, message="over budget")]
    failed = responses_call(server)
    broken = sse(responses_call(server))
    refused = responses_call(server)
    served = responses_call(server, stream=False).json()

    assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
    assert "response.completed" not in [name for name, _ in broken]
    assert refused.json()["error"]["message"] == "over budget"
    assert served["output"][0]["content"][0]["text"] == "Looking in /ws."
    assert server.billed()["turns"] == 1


def test_what_was_served_is_billed_at_openai_s_prices(server):
    answer = responses_call(server, stream=False).json()
    usage = answer["usage"]
    cached = usage["input_tokens_details"]["cached_tokens"]

    assert server.billed()["cost_usd"] == pytest.approx(cost_usd(
        "openai", "gpt-5.5", input_tokens=usage["input_tokens"] - cached, output_tokens=usage["output_tokens"],
        cache_read_tokens=cached))


# --- Gemini API ------------------------------------------------------------------------

def test_a_gemini_turn_streams_one_chunk_per_part_the_last_finished(server):
    server.script = [[SCRIPT[0][0], {"type": "tool_use", "name": "run_shell_command", "input": {"command": "ls"}}]]
    chunks = [data for _, data in sse(gemini_call(server))]

    assert [c["candidates"][0]["content"]["parts"][0] for c in chunks][0] == {"text": "Looking in /ws."}
    call = chunks[1]["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert (call["name"], call["args"]) == ("run_shell_command", {"command": "ls"})
    assert "finishReason" not in chunks[0]["candidates"][0] and chunks[1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[1]["usageMetadata"]["totalTokenCount"] > chunks[1]["usageMetadata"]["promptTokenCount"] > 0


def test_gemini_side_requests_get_json_when_json_is_asked_for(server):
    schema = {"type": "object", "properties": {"reasoning": {"type": "string"}, "next_speaker": {"type": "string"}}}
    side = gemini_call(server, tools=False, path="/v1beta/models/gemini-2.5-flash:generateContent",
                       generationConfig={"responseMimeType": "application/json", "responseJsonSchema": schema}).json()
    plain = gemini_call(server, tools=False, path="/v1beta/models/gemini-2.5-flash:generateContent").json()
    tokens = gemini_call(server, path="/v1beta/models/gemini-2.5-pro:countTokens").json()

    assert json.loads(side["candidates"][0]["content"]["parts"][0]["text"])["next_speaker"] == "user"
    assert plain["candidates"][0]["content"]["parts"] == [{"text": SIDE_TEXT}]
    assert tokens["totalTokens"] > 0
    assert server.request_count() == 2 and [r.turn for r in server.requests] == [None, None, None]


def test_a_wrong_gemini_key_gets_google_s_400_and_the_key_check_its_model_list(server):
    server.api_key = KEY
    refused = gemini_call(server, headers={"x-goog-api-key": "wrong"})
    listed = requests.get(server.url + "/v1beta/models?pageSize=1", headers={"x-goog-api-key": KEY}, timeout=5)

    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert listed.json()["models"][0]["name"] == "models/gemini-2.5-pro"


def test_gemini_faults_keep_the_turn_and_a_broken_stream_has_no_finish_reason(server):
    server.script = [[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]]
    server.faults += [Fault(request=1, status=429), Fault(request=2, stream_error=True)]
    failed = gemini_call(server)
    broken = [data for _, data in sse(gemini_call(server))]
    served = [data for _, data in sse(gemini_call(server))]

    assert failed.status_code == 429 and failed.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert len(broken) == 1 and "finishReason" not in broken[0]["candidates"][0]
    assert served[-1]["candidates"][0]["finishReason"] == "STOP"
    assert [r.turn for r in server.requests] == [None, None, 0]


def test_the_script_runs_out_into_a_final_text_for_every_api(server):
    server.script = []
    openai = responses_call(server, stream=False).json()
    gemini = [data for _, data in sse(gemini_call(server))]

    assert openai["output"][0]["content"][0]["text"] == FINAL_TEXT
    assert gemini[-1]["candidates"][0]["content"]["parts"] == [{"text": FINAL_TEXT}]
