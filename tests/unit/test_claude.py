"""The Claude Code command line, and its stream-json transcript read line by line.

The transcripts under tests/fixtures/transcripts/ are recorded from the real CLI
(tests/bench/record_transcript.py); the golden files hold what we read from them.
"""

import dataclasses
import json

import pytest

from codeagent.agent.claude import AgentResult, Transcript, claude_command, describe_tool_call
from tests.unit.golden import FIXTURES, assert_golden

CLI = "/opt/claude/claude"


def read_transcript(name: str) -> tuple[Transcript, list[str]]:
    """Feed a recorded transcript; return the parser and every log line it produced."""
    transcript, log = Transcript(), []
    for line in (FIXTURES / "transcripts" / f"{name}.jsonl").read_text().splitlines():
        log += transcript.feed(line)
    return transcript, log


def fed(*messages: object) -> Transcript:
    transcript = Transcript(workspace="/github/workspace")
    for message in messages:
        transcript.feed(message if isinstance(message, str) else json.dumps(message))
    return transcript


def assistant(message_id: str, *blocks: dict, usage: dict | None = None) -> dict:
    return {"type": "assistant", "message": {"id": message_id, "model": "claude-sonnet-4-5", "content": list(blocks),
                                             "usage": usage or {"input_tokens": 1000, "output_tokens": 100}}}


def tool_use(name: str, **tool_input: object) -> dict:
    return {"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": tool_input}


# --- the command line ----------------------------------------------------------------

def test_the_command_is_a_list_with_the_prompt_last_after_a_double_dash():
    assert claude_command("Fix #7", cli=CLI, model="sonnet", max_turns=30, allowed_tools=("Read", "Edit", "Bash")) == [
        CLI, "-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "bypassPermissions",
        "--max-turns", "30", "--model", "sonnet", "--tools", "Read,Edit,Bash", "--", "Fix #7",
    ]


def test_the_budget_and_a_session_to_resume_are_passed_when_given():
    command = claude_command("- starts with a dash", cli=CLI, model="opus", max_turns=5, allowed_tools=["Read"],
                             max_cost_usd=2.5, resume_session="8fead0b4-a1f2-4fdd-b120-48f51aab9808")
    assert command[command.index("--max-budget-usd") + 1] == "2.5"
    assert command[command.index("--resume") + 1] == "8fead0b4-a1f2-4fdd-b120-48f51aab9808"
    assert command[-2:] == ["--", "- starts with a dash"]


# --- recorded transcripts ------------------------------------------------------------

@pytest.mark.parametrize("name", ["add-word-count", "max-turns", "api-error"])
def test_a_recorded_transcript_reads_as_the_golden_log_and_result(name):
    transcript, log = read_transcript(name)
    result = transcript.result()
    read = {"log": log, "result": dataclasses.asdict(result),
            "stopped_at_limit": result.stopped_at_limit, "limit": result.limit}
    assert_golden(f"transcript.{name}.json", json.dumps(read, indent=2, ensure_ascii=False) + "\n")


def test_the_successful_run_has_the_agents_summary_and_the_numbers_of_the_result_line():
    transcript, log = read_transcript("add-word-count")
    result = transcript.result()
    assert result.summary.startswith("Added `word_count(text)` to `textstats/__init__.py`")
    assert (result.is_error, result.subtype, result.num_turns) == (False, "success", 5)
    assert result.cost_usd == pytest.approx(0.11623995)
    assert (result.input_tokens, result.output_tokens) == (20, 308)
    assert (result.cache_creation_tokens, result.cache_read_tokens) == (22551, 89979)
    assert log[1:5] == ["Read textstats/__init__.py", "Edited textstats/__init__.py", "Wrote tests/test_word_count.py",
                        "Ran `python3 -c 'import textstats; print(textstats.word_count(\"a b c\"))'`"]


def test_max_turns_is_an_error_that_names_the_limit():
    result = read_transcript("max-turns")[0].result()
    assert (result.is_error, result.stopped_at_limit, result.limit) == (True, True, "max-turns")
    assert result.error == "Reached maximum number of turns (2)"


def test_an_api_error_is_an_error_even_with_subtype_success():
    result = read_transcript("api-error")[0].result()
    assert (result.is_error, result.subtype, result.stopped_at_limit) == (True, "success", False)
    assert result.error.startswith("API Error: 500")
    assert result.summary == ""  # the CLI's own error text is not the agent's summary


def test_turns_and_cost_are_known_while_the_agent_runs():
    transcript = Transcript()
    lines = (FIXTURES / "transcripts" / "add-word-count.jsonl").read_text().splitlines()
    progress = []
    for line in lines[:-1]:
        transcript.feed(line)
        progress.append((transcript.turns_so_far, round(transcript.cost_so_far, 4)))
    assert [turns for turns, _ in progress] == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert 0.10 < progress[-1][1] < 0.11624  # estimated from usage, output tokens counted low
    transcript.feed(lines[-1])
    assert (transcript.turns_so_far, transcript.cost_so_far) == (5, pytest.approx(0.11623995))


# --- robustness ----------------------------------------------------------------------

def test_a_message_split_over_lines_counts_as_one_turn():
    transcript = fed(assistant("m1", {"type": "text", "text": "Let me look."}),
                     assistant("m1", tool_use("Read", file_path="/github/workspace/a.py")))
    assert transcript.turns_so_far == 1
    assert transcript.cost_so_far == pytest.approx((1000 * 3 + 100 * 15) / 1e6)


def test_lines_that_are_not_json_are_logged_and_kept_for_a_crash_report():
    transcript = fed("", "Error: something broke", "[1, 2]", '{"type": "unknown_kind"}',
                     {"type": "system", "subtype": "init", "session_id": "s1", "cwd": "/w"})
    assert transcript.feed("Killed") == ["Killed"]
    result = transcript.result(exit_status=137)
    assert (result.is_error, result.subtype, result.session_id) == (True, "no_result", "s1")
    assert result.error == ("Claude Code ended without a result (exit status 137). Its last output:\n"
                            "Error: something broke\n[1, 2]\nKilled")


def test_a_crash_after_some_work_keeps_the_last_text_and_the_usage():
    transcript = fed(assistant("m1", {"type": "text", "text": "Half done."}, usage={"input_tokens": 7, "output_tokens": 3}))
    result = transcript.result()
    assert (result.summary, result.num_turns, result.input_tokens, result.output_tokens) == ("Half done.", 1, 7, 3)
    assert result.error == "Claude Code ended without a result."


def test_odd_shapes_do_not_raise():
    transcript = fed({"type": "assistant", "message": "text"}, {"type": "assistant", "message": {"content": [1, None]}},
                     {"type": "user", "message": {"content": "a plain prompt"}}, {"type": "system"},
                     {"type": "result", "subtype": None, "usage": None, "num_turns": "3", "is_error": True})
    result = transcript.result()
    assert isinstance(result, AgentResult)
    assert (result.subtype, result.num_turns, result.is_error) == ("unknown", 0, True)
    assert result.error == "Claude Code reported `None`"


def test_a_failed_tool_call_is_logged_under_it():
    transcript = Transcript()
    lines = transcript.feed(json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "is_error": True,
         "content": [{"type": "text", "text": "<tool_use_error>String to replace not found in file.\nString: x"}]}]}}))
    assert lines == ["  failed: <tool_use_error>String to replace not found in file."]


def test_the_result_line_is_logged_in_plain_words():
    ok = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 1, "duration_ms": 61_500,
          "total_cost_usd": 0.5, "result": "Done."}
    budget = ok | {"subtype": "error_max_budget_usd", "is_error": True, "num_turns": 9}
    assert Transcript().feed(json.dumps(ok)) == ["Finished after 1 turn, 61.5 s, $0.50"]
    transcript = Transcript()
    assert transcript.feed(json.dumps(budget)) == ["Stopped at the `max-cost-usd` limit after 9 turns, 61.5 s, $0.50"]
    assert transcript.result().limit == "max-cost-usd"


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
