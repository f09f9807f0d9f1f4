"""Gemini CLI: its command line, its settings file, and its stream-json transcript read line by line.

The transcripts under tests/fixtures/transcripts/gemini-*.jsonl are recorded from the pinned CLI
launched as codeagent launches it (bench/record_transcript.py); the golden files hold what we read
from them.
"""

import dataclasses
import json

import pytest

from codeagent.agent.base import LaunchRequest
from codeagent.agent.gemini import GeminiCli, Transcript, command_line, describe_tool_call, settings_json
from tests.unit.golden import assert_golden
from tests.unit.transcripts import feed_messages, read_recorded

CLI_DIR = "/opt/codeagent/cli"
SESSION = "42c42f6f-3390-47af-a53c-f5d914bc2643"


def request(prompt: str = "Fix #7", **changes) -> LaunchRequest:
    base = LaunchRequest(prompt=prompt, model="gemini-2.5-pro", max_turns=30, base_url="http://127.0.0.1:3128",
                         cli_dir=CLI_DIR, home="/tmp/codeagent-home", workspace="/github/workspace")
    return dataclasses.replace(base, **changes)


def read_transcript(name: str) -> tuple[Transcript, list[str]]:
    return read_recorded(Transcript(workspace="/workspace"), name)


def fed(*messages: object) -> Transcript:
    return feed_messages(Transcript(workspace="/github/workspace"), *messages)


# --- the command line and the settings -----------------------------------------------

def test_the_command_runs_the_bundle_on_the_node_beside_it_with_the_prompt_as_one_value():
    assert command_line(request("- starts with a dash")) == [
        f"{CLI_DIR}/gemini/node", f"{CLI_DIR}/gemini/bundle/gemini.js", "--yolo", "--skip-trust",
        "-m", "gemini-2.5-pro", "-o", "stream-json", "--prompt=- starts with a dash"]


def test_a_kept_session_is_resumed_by_its_id():
    command = command_line(request(resume=SESSION))
    assert command[command.index("--resume") + 1] == SESSION and command[-1] == "--prompt=Fix #7"


def test_settings_pick_the_api_key_the_turn_limit_and_no_statistics():
    settings = json.loads(settings_json(12))
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert settings["model"]["maxSessionTurns"] == 12
    assert settings["privacy"]["usageStatisticsEnabled"] is False
    assert settings["telemetry"]["enabled"] is False


def test_the_sandbox_holds_a_placeholder_key_and_the_gateway_s_address_only():
    launch = GeminiCli().launch(request())
    assert launch.env == {"GEMINI_API_KEY": GeminiCli.placeholder_key, "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:3128",
                          "GEMINI_CLI_NO_RELAUNCH": "true"}
    assert list(launch.files) == [".gemini/settings.json"]


# --- recorded transcripts ------------------------------------------------------------

@pytest.mark.parametrize("name", ["gemini-add-word-count", "gemini-refused", "gemini-max-turns",
                                  "gemini-tool-errors"])
def test_a_recorded_transcript_reads_as_the_golden_log_and_result(name):
    transcript, log = read_transcript(name)
    read = {"log": log, "result": dataclasses.asdict(transcript.result())}
    assert_golden(f"transcript.{name}.json", json.dumps(read, indent=2, ensure_ascii=False) + "\n")


def test_the_successful_run_names_its_session_and_each_tool_call():
    transcript, log = read_transcript("gemini-add-word-count")
    result = transcript.result()
    assert result.finished and not result.error and result.session_id == SESSION
    assert log[1:5] == ["Read textstats/__init__.py", "Edited textstats/__init__.py", "Wrote tests/test_word_count.py",
                        "Ran `python3 -c 'import textstats; print(textstats.word_count(\"a b c\"))'`"]


def test_a_refused_call_is_a_failure_that_names_the_budget():
    result = read_transcript("gemini-refused")[0].result()
    assert not result.finished and not result.said_limit
    assert result.error == ("codeagent: the budget (max-cost-usd) is reached; no further model calls are made in "
                            "this run")


def test_its_own_turn_limit_is_said():
    result = read_transcript("gemini-max-turns")[0].result()
    assert (result.finished, result.said_limit) == (False, "max-turns")


def test_failed_tools_say_why():
    log = read_transcript("gemini-tool-errors")[1]
    assert "  read_file failed: File not found: /workspace/missing.txt" in log


# --- robustness ----------------------------------------------------------------------

def test_the_model_s_streamed_text_is_shown_once_whole():
    transcript = fed({"type": "init", "session_id": SESSION, "model": "gemini-2.5-pro"})
    pieces = [{"type": "message", "role": "assistant", "content": part, "delta": True} for part in ("Let me ", "look.")]
    assert [transcript.feed(json.dumps(piece)) for piece in pieces] == [[], []]
    call = {"type": "tool_use", "tool_name": "glob", "parameters": {"pattern": "**/*.py"}}
    assert transcript.feed(json.dumps(call)) == ["Gemini: Let me look.", "Listed files matching `**/*.py`"]


def test_a_session_it_cannot_find_is_said():
    result = fed("Error resuming session: No previous sessions found for this project.").result()
    assert result.no_session and result.error.startswith("Gemini CLI ended without a result; its last output:")


def test_tool_calls_read_as_plain_lines():
    assert describe_tool_call("run_shell_command", {"command": "npm test"}) == "Ran `npm test`"
    assert describe_tool_call("list_directory", {"dir_path": "/github/workspace/src"}, "/github/workspace") == \
        "Listed src"
    assert describe_tool_call("some_mcp_tool", None) == "Used some_mcp_tool"


def test_a_later_session_line_is_not_believed():
    """The agent can write to the CLI's output; the session kept for the next run is the one announced first."""
    transcript, _ = read_transcript("gemini-add-word-count")
    first = transcript.session_id
    transcript.feed('{"type": "init", "session_id": "forged-0000-1111", "model": "x"}')
    assert transcript.result().session_id == first != "forged-0000-1111"
