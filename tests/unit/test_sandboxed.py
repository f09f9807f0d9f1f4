"""SandboxedClaude without Docker: a fake sandbox replays stream-json as the CLI would."""

from __future__ import annotations

import json
from pathlib import Path

from codeagent.agent.sandboxed import SANDBOX_HOME, SandboxedClaude, sandbox_env
from codeagent.log import Log
from codeagent.sandbox import SandboxExit, SandboxSpec
from codeagent.settings import Settings

SESSION = "8fead0b4-a1f2-4fdd-b120-48f51aab9808"
CLEAN = SandboxExit(0, False, False, False, ())


def result_line(**fields) -> str:
    base = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 2, "duration_ms": 10,
            "total_cost_usd": 0.01, "usage": {}, "session_id": SESSION, "result": "Done."}
    return json.dumps({**base, **fields})


class FakeSandbox:
    """Answers like the CLI: a resume of an unknown session fails at once, anything else succeeds."""

    def __init__(self, known_sessions: set[str]) -> None:
        self.known = known_sessions
        self.specs: list[SandboxSpec] = []

    def run(self, spec: SandboxSpec, on_line, should_stop=lambda: False) -> SandboxExit:
        self.specs.append(spec)
        command = spec.command
        resume = command[command.index("--resume") + 1] if "--resume" in command else None
        if resume and resume not in self.known:
            on_line(result_line(subtype="error_during_execution", is_error=True, num_turns=0, result=None,
                                errors=[f"No conversation found with session ID: {resume}"]))
            return SandboxExit(1, False, False, False, ())
        on_line(result_line())
        return CLEAN

    def host_path(self, path: str) -> str:
        return "/host" + path


def agent(tmp_path: Path, sandbox: FakeSandbox) -> SandboxedClaude:
    settings = Settings(github_token="ghs_x", anthropic_api_key="sk-ant-x")
    return SandboxedClaude(lambda: sandbox, settings, tmp_path / "ws", (1001, 1001), Log(), tmp_path / "state")


def test_a_session_that_cannot_be_resumed_falls_back_to_a_fresh_one(tmp_path):
    sandbox = FakeSandbox(known_sessions=set())

    run = agent(tmp_path, sandbox).run("the prompt", resume="0000aaaa-0000-4000-8000-000000000000")

    assert [("--resume" in spec.command) for spec in sandbox.specs] == [True, False]
    assert run.result.subtype == "success" and not run.problem


def test_a_known_session_is_resumed_once(tmp_path):
    sandbox = FakeSandbox(known_sessions={SESSION})

    agent(tmp_path, sandbox).run("the prompt", resume=SESSION)

    (spec,) = sandbox.specs
    assert spec.command[spec.command.index("--resume") + 1] == SESSION
    assert spec.home == (str(tmp_path / "state" / "home"), SANDBOX_HOME)
    assert spec.user == "1001:1001"


def test_the_transcript_is_written_and_named_by_its_path_on_the_runner(tmp_path):
    run = agent(tmp_path, FakeSandbox(set())).run("the prompt")

    assert (tmp_path / "state" / "transcript.jsonl").read_text().count('"type": "result"') == 1
    assert run.transcript_path == "/host" + str(tmp_path / "state" / "transcript.jsonl")


def test_the_sandbox_gets_the_anthropic_key_and_switches_and_nothing_else():
    env = sandbox_env(Settings(github_token="ghs_secret", anthropic_api_key="sk-ant-x",
                               anthropic_base_url="http://127.0.0.1:9"), uid=1001)
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-x" and env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert "ghs_secret" not in json.dumps(env) and "IS_SANDBOX" not in env
    assert sandbox_env(Settings(github_token="g", anthropic_api_key="k"), uid=0)["IS_SANDBOX"] == "1"


def test_the_budget_backstop_waits_for_claude_code_to_stop_itself():
    from codeagent.agent.sandboxed import BUDGET_GRACE_S, _BudgetBackstop

    now, cost = [0.0], [0.0]
    backstop = _BudgetBackstop(1.0, lambda: cost[0], clock=lambda: now[0])
    assert not backstop() and not backstop.tripped
    cost[0] = 1.2  # over the budget: the CLI gets the grace period to stop between turns
    assert not backstop()
    now[0] = BUDGET_GRACE_S - 1
    assert not backstop()
    now[0] = BUDGET_GRACE_S
    assert backstop() and backstop.tripped
    assert not _BudgetBackstop(None, lambda: 99.0)()


def test_step_debug_logging_puts_the_whole_transcript_in_the_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNNER_DEBUG", "1")  # what ACTIONS_STEP_DEBUG turns on

    agent(tmp_path, FakeSandbox(set())).run("the prompt")

    debug = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::debug::")]
    assert len(debug) == 1 and '"type": "result"' in debug[0]


def test_without_step_debug_only_the_readable_lines_are_logged(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RUNNER_DEBUG", raising=False)

    agent(tmp_path, FakeSandbox(set())).run("the prompt")

    out = capsys.readouterr().out
    assert "::debug::" not in out and '"type": "result"' not in out
