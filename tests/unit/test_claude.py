"""Claude Code: its command line, and its stream-json transcript read line by line.

The transcripts under tests/fixtures/transcripts/ are recorded from the real CLI
(bench/record_transcript.py); the golden files hold what we read from them. The numbers of a
run (turns, tokens, cost) are the gateway's (tests/unit/test_gateway.py): the transcript only
gives log lines, a session id and the words of an error.
"""

import dataclasses
import json

import pytest

from codeagent.agent.base import LaunchRequest
from codeagent.agent.claude import ClaudeCli, Transcript, command_line, describe_tool_call
from tests.unit.golden import assert_golden
from tests.unit.transcripts import feed_messages, read_recorded

CLI_DIR = "/opt/codeagent/cli"


def read_transcript(name: str) -> tuple[Transcript, list[str]]:
    """Feed a recorded transcript; return the parser and every log line it produced."""
    return read_recorded(Transcript(), name)


def fed(*messages: object) -> Transcript:
    return feed_messages(Transcript(workspace="/github/workspace"), *messages)


def request(prompt: str = "Fix #7", **changes) -> LaunchRequest:
    base = LaunchRequest(prompt=prompt, model="sonnet", max_turns=30, base_url="http://127.0.0.1:3128",
                         cli_dir=CLI_DIR, home="/tmp/home", workspace="/github/workspace",
                         allowed_tools=("Read", "Edit", "Bash"))
    return dataclasses.replace(base, **changes)


# --- the command line ----------------------------------------------------------------

def test_the_command_is_a_list_with_the_prompt_last_after_a_double_dash():
    assert command_line(request()) == [
        f"{CLI_DIR}/claude", "-p", "--output-format", "stream-json", "--verbose", "--permission-mode",
        "bypassPermissions", "--max-turns", "30", "--model", "sonnet", "--tools", "Read,Edit,Bash", "--", "Fix #7",
    ]


def test_the_budget_and_a_session_to_resume_are_passed_when_given():
    command = command_line(request("- starts with a dash", model="opus", max_turns=5, allowed_tools=("Read",),
                                   max_cost_usd=2.5, resume="8fead0b4-a1f2-4fdd-b120-48f51aab9808"))
    assert command[command.index("--max-budget-usd") + 1] == "2.5"
    assert command[command.index("--resume") + 1] == "8fead0b4-a1f2-4fdd-b120-48f51aab9808"
    assert command[-2:] == ["--", "- starts with a dash"]


def test_the_sandbox_holds_a_placeholder_key_and_the_gateway_s_address_only():
    launch = ClaudeCli().launch(request())
    assert launch.env["ANTHROPIC_API_KEY"] == ClaudeCli.placeholder_key
    assert launch.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:3128"
    assert launch.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert not any(key.startswith(("GITHUB", "INPUT_")) for key in launch.env)


# --- recorded transcripts ------------------------------------------------------------

@pytest.mark.parametrize("name", ["add-word-count", "max-turns", "api-error"])
def test_a_recorded_transcript_reads_as_the_golden_log_and_result(name):
    transcript, log = read_transcript(name)
    read = {"log": log, "result": dataclasses.asdict(transcript.result())}
    assert_golden(f"transcript.{name}.json", json.dumps(read, indent=2, ensure_ascii=False) + "\n")


def test_the_successful_run_says_it_finished_and_names_its_session():
    transcript, log = read_transcript("add-word-count")
    result = transcript.result()
    assert result.finished and not result.error and not result.said_limit
    assert result.session_id
    assert log[1:5] == ["Read textstats/__init__.py", "Edited textstats/__init__.py", "Wrote tests/test_word_count.py",
                        "Ran `python3 -c 'import textstats; print(textstats.word_count(\"a b c\"))'`"]


def test_max_turns_is_an_error_that_names_the_limit():
    result = read_transcript("max-turns")[0].result()
    assert (result.finished, result.said_limit) == (False, "max-turns")
    assert result.error == "Reached maximum number of turns (2)"


def test_an_api_error_is_an_error_even_with_subtype_success():
    result = read_transcript("api-error")[0].result()
    assert not result.finished and not result.said_limit
    assert result.error.startswith("API Error: 500")


# --- robustness ----------------------------------------------------------------------

def test_lines_that_are_not_json_are_logged_and_kept_for_a_crash_report():
    transcript = fed("", "Error: something broke", "[1, 2]", '{"type": "unknown_kind"}',
                     {"type": "system", "subtype": "init", "session_id": "s1", "cwd": "/w"})
    assert transcript.feed("Killed") == ["Killed"]
    result = transcript.result()
    assert (result.finished, result.session_id) == (False, "s1")
    assert result.error == "Claude Code ended without a result; its last output:\nError: something broke\n[1, 2]\nKilled"


def test_a_huge_line_that_is_not_json_is_cut_in_the_log():
    assert fed().feed("x" * 10_000) == ["x" * 500]


def test_odd_shapes_do_not_raise():
    transcript = fed({"type": "assistant", "message": "text"}, {"type": "assistant", "message": {"content": [1, None]}},
                     {"type": "user", "message": {"content": "a plain prompt"}}, {"type": "system"},
                     {"type": "result", "subtype": None, "usage": None, "num_turns": "3", "is_error": True})
    result = transcript.result()
    assert (result.finished, result.error) == (False, "Claude Code reported `None`")


def test_a_session_the_cli_cannot_find_is_recognised():
    transcript = fed({"type": "result", "subtype": "error_during_execution", "is_error": True,
                      "errors": ["No conversation found with session ID: abc"]})
    assert transcript.result().no_session


def test_a_failed_tool_call_is_logged_under_it():
    transcript = Transcript()
    lines = transcript.feed(json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "is_error": True,
         "content": [{"type": "text", "text": "<tool_use_error>String to replace not found in file.\nString: x"}]}]}}))
    assert lines == ["  failed: <tool_use_error>String to replace not found in file."]


def test_the_result_line_is_logged_in_plain_words():
    ok = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 1, "result": "Done."}
    budget = ok | {"subtype": "error_max_budget_usd", "is_error": True}
    assert Transcript().feed(json.dumps(ok)) == ["Claude Code finished"]
    transcript = Transcript()
    assert transcript.feed(json.dumps(budget)) == ["Claude Code stopped at the `max-cost-usd` limit"]
    assert transcript.result().said_limit == "max-cost-usd"


@pytest.mark.parametrize("name, tool_input, line", [
    ("Read", {"file_path": "/github/workspace/src/app.py"}, "Read src/app.py"),
    ("Read", {"file_path": "/etc/passwd"}, "Read /etc/passwd"),
    ("Edit", {"file_path": "/github/workspace/a.py"}, "Edited a.py"),
    ("MultiEdit", {"file_path": "/github/workspace/a.py"}, "Edited a.py"),
    ("Write", {"file_path": "/github/workspace/tests/test_a.py"}, "Wrote tests/test_a.py"),
    ("NotebookEdit", {"notebook_path": "/github/workspace/n.ipynb"}, "Edited n.ipynb"),
    ("Bash", {"command": "pytest -q\necho done", "description": "Run tests"}, "Ran `pytest -q`"),
    ("Bash", {"command": "x" * 200}, "Ran `" + "x" * 119 + "…`"),
    ("Glob", {"pattern": "**/*.py"}, "Listed files matching `**/*.py`"),
    ("Grep", {"pattern": "def word", "path": "/github/workspace/textstats"}, "Searched for `def word` in textstats"),
    ("Grep", {"pattern": "TODO"}, "Searched for `TODO`"),
    ("TodoWrite", {"todos": []}, "Updated the to-do list"),
    ("Task", {"description": "Explore the code"}, "Started a subagent: Explore the code"),
    ("WebFetch", {"url": "https://docs.python.org"}, "Fetched https://docs.python.org"),
    ("WebSearch", {"query": "str.split"}, "Searched the web for `str.split`"),
    ("mcp__github__create_issue", {}, "Used mcp__github__create_issue"),
    ("Read", None, "Read ."),
])
def test_each_tool_call_is_one_plain_line_with_paths_relative_to_the_workspace(name, tool_input, line):
    assert describe_tool_call(name, tool_input, "/github/workspace") == line
