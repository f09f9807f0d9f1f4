"""The real Codex and Gemini CLIs (the Dockerfile's pins, bench/clis.py) on the scripted model, launched
as codeagent launches them: its command lines, config files and transcript readers, against the real
CLIs, on this machine. The same runs in the sandbox, through the gateway, are the e2e scenarios."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bench.cli import run_agent
from bench.model.server import Fault, ModelServer
from codeagent.agent import CLIS
from codeagent.gateway.server import BUDGET_REFUSAL

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.cli, pytest.mark.timeout(180)]
AGENTS = ["codex", "gemini"]


def script(agent: str) -> list:
    return yaml.safe_load((ROOT / "scenarios" / f"{agent}-add-word-count" / "scenario.yaml").read_text())["model"]


@pytest.fixture
def workspace(tmp_path):
    """A git checkout of add-word-count's repo, with an empty home for the CLI beside it."""
    shutil.copytree(ROOT / "scenarios" / "add-word-count" / "repo", tmp_path / "workspace")
    subprocess.run(["git", "init", "-q", str(tmp_path / "workspace")], check=True)
    (tmp_path / "home").mkdir()
    return tmp_path / "workspace"


def read(agent: str, stdout: str, workspace: Path):
    transcript = CLIS[agent]().transcript(str(workspace))
    log = [shown for line in stdout.splitlines() for shown in transcript.feed(line)]
    return transcript.result(), log


@pytest.mark.parametrize("agent", AGENTS)
def test_the_cli_runs_the_add_word_count_script(workspace, agent):
    with ModelServer(script(agent), str(workspace)) as server:
        done = run_agent(agent, "Please add word_count (bench prompt 7f3a).", server.url, workspace,
                         workspace.parent / "home")

    result, log = read(agent, done.stdout, workspace)
    assert done.returncode == 0 and result.finished and result.session_id, done.stderr
    assert "Edited textstats/__init__.py" in log and "Wrote tests/test_word_count.py" in log
    assert "def word_count" in (workspace / "textstats" / "__init__.py").read_text()
    assert server.billed()["turns"] == len(script(agent)) and server.leaked_secrets() == []
    assert "bench prompt 7f3a" in server.model_calls()[0][0].prompt(server.model_calls()[0][1])


@pytest.mark.parametrize("agent", AGENTS)
def test_a_refused_call_stops_the_cli_at_once(workspace, agent):
    """The gateway's budget refusal, a 400 in the vendor's shape: neither CLI retries it."""
    with ModelServer(script(agent), str(workspace)) as server:
        server.faults.append(Fault(status=400, message=BUDGET_REFUSAL, times=100))
        done = run_agent(agent, "Add word_count.", server.url, workspace, workspace.parent / "home")

    result, _ = read(agent, done.stdout, workspace)
    assert done.returncode != 0 and not result.finished
    assert result.error == BUDGET_REFUSAL
    assert server.request_count() == 1


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("fault", [{"turn": 1, "stream_error": True}, {"turn": 1, "status": 500}],
                         ids=["broken-stream", "server-error"])
def test_the_cli_retries_a_failed_turn(workspace, agent, fault):
    with ModelServer(script(agent), str(workspace)) as server:
        server.faults.append(Fault(**fault))
        done = run_agent(agent, "Add word_count.", server.url, workspace, workspace.parent / "home")

    assert read(agent, done.stdout, workspace)[0].finished, done.stderr
    assert server.request_count() == len(script(agent)) + 1


@pytest.mark.parametrize("agent", AGENTS)
def test_a_kept_session_resumes_in_a_fresh_home(workspace, agent):
    cli = CLIS[agent]()
    first_home, second_home = workspace.parent / "home", workspace.parent / "home-2"
    with ModelServer(script(agent)[:1], str(workspace)) as server:
        first = read(agent, run_agent(agent, "Read the module.", server.url, workspace, first_home).stdout,
                     workspace)[0]
    note = cli.session_note(first_home, str(workspace), first.session_id)
    assert note and cli.restore_session(second_home, note) == first.session_id

    with ModelServer([[{"type": "text", "text": "Resumed."}]], str(workspace)) as server:
        done = run_agent(agent, "Now sum up (resumed 51c2).", server.url, workspace, second_home,
                         resume=first.session_id)
    result, _ = read(agent, done.stdout, workspace)
    assert result.finished and result.session_id == first.session_id, done.stderr
    wire, body = server.model_calls()[0]
    conversation = "\n".join(wire.conversation(body))
    assert "Read the module." in conversation and "resumed 51c2" in conversation
    assert "cat textstats/__init__.py" in json.dumps(body) or "textstats/__init__.py" in json.dumps(body)


def test_codex_code_mode_models_get_their_tools_through_the_exec_host(workspace):
    """gpt-5.6 and gpt-6 models call tools from JavaScript (the ``exec`` tool, run by the
    codex-code-mode-host binary the image carries); their tools come in an ``additional_tools`` item."""
    script = [[{"type": "tool_use", "name": "exec",
                "input": "const r = await tools.exec_command({cmd: 'echo hi > hello.txt && cat hello.txt'}); text(r);"}],
              [{"type": "text", "text": "Wrote hello.txt."}]]
    with ModelServer(script, str(workspace)) as server:
        done = run_agent("codex", "Say hi.", server.url, workspace, workspace.parent / "home", model="gpt-6-sol")

    result, log = read("codex", done.stdout, workspace)
    assert result.finished and "Ran `echo hi > hello.txt && cat hello.txt`" in log, done.stdout
    assert (workspace / "hello.txt").read_text() == "hi\n"
    assert [r.turn for r in server.requests] == [0, 1]
