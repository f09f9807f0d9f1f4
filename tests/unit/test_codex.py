"""Codex CLI: its command line, its config file, and its JSON-lines transcript read line by line.

The transcripts under tests/fixtures/transcripts/codex-*.jsonl are recorded from the pinned CLI
launched as codeagent launches it (bench/record_transcript.py); the golden files hold what we read
from them. The numbers of a run are the gateway's: the transcript gives log lines, a session id and
the words of an error.
"""

import dataclasses
import json
import tomllib

import pytest

from codeagent.agent.base import LaunchRequest
from codeagent.agent.codex import CodexCli, Transcript, command_line, config_toml
from tests.unit.golden import assert_golden
from tests.unit.transcripts import feed_messages, read_recorded

CLI_DIR = "/opt/codeagent/cli"
THREAD = "01a22cb0-8d33-7381-adfc-18afbd53da81"


def request(prompt: str = "Fix #7", **changes) -> LaunchRequest:
    base = LaunchRequest(prompt=prompt, model="gpt-5.5", max_turns=30, base_url="http://127.0.0.1:3128",
                         cli_dir=CLI_DIR, home="/tmp/codeagent-home", workspace="/github/workspace")
    return dataclasses.replace(base, **changes)


def read_transcript(name: str) -> tuple[Transcript, list[str]]:
    return read_recorded(Transcript(workspace="/workspace"), name)


def fed(*messages: object) -> Transcript:
    return feed_messages(Transcript(workspace="/github/workspace"), *messages)


# --- the command line and the config -------------------------------------------------

def test_the_command_closes_stdin_and_puts_the_prompt_last_after_a_double_dash():
    command = command_line(request("- starts with a dash"))
    assert command[:3] == ["/bin/sh", "-c", 'mkdir -p "$TMPDIR" && exec "$0" "$@" </dev/null']
    assert command[3:] == [f"{CLI_DIR}/codex/bin/codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox",
                           "--skip-git-repo-check", "-m", "gpt-5.5", "-C", "/github/workspace", "--",
                           "- starts with a dash"]


def test_a_kept_thread_is_resumed_by_its_id():
    command = command_line(request(resume=THREAD))
    assert command[4:6] == ["exec", "resume"]
    assert command[-3:] == ["--", THREAD, "Fix #7"]


def test_the_gateway_is_the_model_provider_and_nothing_calls_home():
    config = tomllib.loads(config_toml("http://127.0.0.1:3128"))
    assert config["model_provider"] == "codeagent"
    provider = config["model_providers"]["codeagent"]
    assert provider["base_url"] == "http://127.0.0.1:3128"  # no /v1: the gateway adds the upstream's path
    assert (provider["wire_api"], provider["env_key"]) == ("responses", "CODEX_API_KEY")
    assert config["features"] == {"plugins": False} and config["analytics"] == {"enabled": False}


def test_the_apis_own_web_search_is_off_unless_the_network_is_open():
    """Codex offers the Responses API's ``web_search`` on every call unless it is off (measured, 0.171.0);
    the gateway refuses a call that offers it unless the run's network is open."""
    closed = tomllib.loads(CodexCli().launch(request()).files[".codex/config.toml"])
    opened = tomllib.loads(CodexCli().launch(request(vendor_web_search=True)).files[".codex/config.toml"])
    assert closed["web_search"] == "disabled" and "web_search" not in opened


def test_the_sandbox_holds_a_placeholder_key_and_the_config_in_codex_home():
    launch = CodexCli().launch(request())
    assert launch.env["CODEX_API_KEY"] == CodexCli.placeholder_key
    assert launch.env["CODEX_HOME"] == "/tmp/codeagent-home/.codex"
    assert not launch.env["TMPDIR"].startswith("/tmp/codeagent-home")  # else no helper links (apply_patch)
    assert list(launch.files) == [".codex/config.toml"]
    assert not any(key.startswith(("GITHUB", "INPUT_", "OPENAI")) for key in launch.env)


# --- recorded transcripts ------------------------------------------------------------

@pytest.mark.parametrize("name", ["codex-add-word-count", "codex-refused", "codex-tool-errors"])
def test_a_recorded_transcript_reads_as_the_golden_log_and_result(name):
    transcript, log = read_transcript(name)
    read = {"log": log, "result": dataclasses.asdict(transcript.result())}
    assert_golden(f"transcript.{name}.json", json.dumps(read, indent=2, ensure_ascii=False) + "\n")


def test_the_successful_run_names_its_thread_and_each_change():
    transcript, log = read_transcript("codex-add-word-count")
    result = transcript.result()
    assert result.finished and not result.error and result.session_id == THREAD
    assert log[2:5] == ["Ran `cat textstats/__init__.py`", "Wrote tests/test_word_count.py",
                        "Edited textstats/__init__.py"]


def test_a_refused_call_is_a_failure_in_the_gateway_s_words():
    result = read_transcript("codex-refused")[0].result()
    assert not result.finished
    assert result.error == "codeagent: the budget (max-cost-usd) is reached; no further model calls are made in this run"


def test_a_failed_command_says_its_exit_code_and_output():
    log = read_transcript("codex-tool-errors")[1]
    assert log[1:3] == ["Ran `cat no-such-file`", "  failed (exit code 1): cat: no-such-file: No such file or directory"]


# --- robustness ----------------------------------------------------------------------

def test_retries_are_logged_and_the_last_error_kept():
    transcript = fed({"type": "thread.started", "thread_id": THREAD},
                     {"type": "error", "message": "Reconnecting... 2/5 (stream disconnected before completion)"})
    assert transcript.feed(json.dumps({"type": "error", "message": "Reconnecting... 3/5"})) == [
        "API error (no response), retrying: attempt 3 of 5"]
    transcript.feed(json.dumps({"type": "error", "message": "We're currently experiencing high demand"}))
    result = transcript.result(stderr=("Error: something broke",))
    assert not result.finished and result.error.startswith("We're currently experiencing high demand; its last output:")


def test_a_thread_it_cannot_find_is_said_on_stderr():
    result = fed().result(stderr=("Error: thread/resume: thread/resume failed: no rollout found for thread id "
                                  f"{THREAD} (code -32600)",))
    assert result.no_session and not result.finished


def test_lines_that_are_not_json_are_shown_and_kept():
    transcript = fed("", "[1, 2]", '{"type": "unknown_kind"}', {"type": "item.completed", "item": "not an object"})
    assert transcript.feed("Killed") == ["Killed"]
    assert transcript.result().error == ("Codex CLI ended without finishing its turn; its last output:\n"
                                         "[1, 2]\nKilled")


def test_an_item_seen_started_is_shown_once():
    item = {"id": "item_1", "type": "command_execution", "command": "/bin/bash -lc 'pytest -q'"}
    transcript = fed({"type": "thread.started", "thread_id": THREAD})
    assert transcript.feed(json.dumps({"type": "item.started", "item": item})) == ["Ran `pytest -q`"]
    assert transcript.feed(json.dumps({"type": "item.completed", "item": {**item, "status": "completed"}})) == []


def test_a_later_session_line_is_not_believed():
    """The agent can write to the CLI's output; the session kept for the next run is the one announced first."""
    transcript, _ = read_transcript("codex-add-word-count")
    first = transcript.session_id
    transcript.feed('{"type": "thread.started", "thread_id": "forged-0000-1111"}')
    assert transcript.result().session_id == first != "forged-0000-1111"
