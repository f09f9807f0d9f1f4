"""Record real agent CLI transcripts for the parsers' golden tests.

Runs Claude Code (the bundled CLI), Codex and Gemini CLI (the bench's copies of the pinned
CLIs, bench/clis.py, launched as codeagent launches them) against the scripted model server with
the add-word-count scenarios and writes tests/fixtures/transcripts/*.jsonl. Run it again after
upgrading a CLI (claude-agent-sdk, or the Dockerfile's pins):

    .venv/bin/python -m bench.record_transcript [codex gemini ...]

Temporary paths are replaced so the files stay stable: the workspace becomes
``/workspace``, the CLI's home ``/home/runner`` and the server ``127.0.0.1:8080``.
"""

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from bench.cli import run_agent, run_claude
from bench.model.server import Fault, ModelServer
from codeagent.gateway.server import BUDGET_REFUSAL

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "add-word-count"
TRANSCRIPTS = ROOT / "tests" / "fixtures" / "transcripts"
# name: (--max-turns, Fault arguments, extra environment)
RECORDINGS = {
    "add-word-count": (10, [], {}),
    "max-turns": (2, [], {}),
    # The model keeps failing: the CLI retries once, then gives up.
    "api-error": (10, [{"status": 500, "times": 100}], {"CLAUDE_CODE_MAX_RETRIES": "1"}),
}


REFUSED = [{"status": 400, "message": BUDGET_REFUSAL, "times": 100}]
"""Every call answered as the gateway answers one past the budget."""
TOOL_ERRORS = {
    "codex": [[{"type": "tool_use", "name": "exec_command", "input": {"cmd": "cat no-such-file"}}],
              [{"type": "text", "text": "The file is not there."}]],
    "gemini": [[{"type": "tool_use", "name": "run_shell_command", "input": {"command": "cat no-such-file"}},
                {"type": "tool_use", "name": "replace", "input": {
                    "file_path": "{workspace}/textstats/__init__.py", "instruction": "x",
                    "old_string": "not there", "new_string": "x"}},
                {"type": "tool_use", "name": "read_file", "input": {"file_path": "{workspace}/missing.txt"}}],
               [{"type": "text", "text": "All three failed."}]],
}
# name: (agent, script (None: the agent's add-word-count scenario's), max turns, Fault arguments)
AGENT_RECORDINGS = {
    "codex-add-word-count": ("codex", None, 10, []),
    "codex-refused": ("codex", None, 10, REFUSED),
    "codex-tool-errors": ("codex", TOOL_ERRORS["codex"], 10, []),
    "gemini-add-word-count": ("gemini", None, 10, []),
    "gemini-refused": ("gemini", None, 10, REFUSED),
    "gemini-max-turns": ("gemini", None, 2, []),
    "gemini-tool-errors": ("gemini", TOOL_ERRORS["gemini"], 10, []),
}


def scenario_prompt(scenario: dict) -> str:
    """A prompt made of the scenario's issue and triggering comment."""
    issue = scenario["issue"]
    return f"{issue['title']}\n\n{issue['body']}\n{scenario['event']['comment']}\n"


def record(max_turns: int, faults: list[dict], env: dict[str, str]) -> str:
    """Run the CLI once on a copy of the scenario's repo; return its stdout, normalized."""
    scenario = yaml.safe_load((SCENARIO / "scenario.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workspace, home = Path(tmp) / "workspace", Path(tmp) / "home"
        shutil.copytree(SCENARIO / "repo", workspace)
        home.mkdir()
        with ModelServer(scenario["model"], str(workspace)) as server:
            server.faults.extend(Fault(**fault) for fault in faults)
            done = run_claude(scenario_prompt(scenario), server.url, workspace, home,
                              max_turns=max_turns, extra_env=env)
        return normalize(done.stdout, workspace, home, server.url)


def normalize(transcript: str, workspace: Path, home: Path, url: str) -> str:
    """``transcript`` with the temporary paths and the server's port made stable."""
    project_slug = str(workspace).replace("/", "-")  # ~/.claude/projects/<slug>
    for old, new in [(str(home), "/home/runner"), (project_slug, "-workspace"),
                     (str(workspace), "/workspace"),
                     (url.removeprefix("http://"), "127.0.0.1:8080")]:
        transcript = transcript.replace(old, new)
    return transcript


def record_agent(agent: str, script: list | None, max_turns: int, faults: list[dict]) -> str:
    """Run Codex or Gemini CLI once on a copy of the repo; return its stdout, normalized."""
    scenario = yaml.safe_load((ROOT / "scenarios" / f"{agent}-add-word-count" / "scenario.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workspace, home = Path(tmp) / "workspace", Path(tmp) / "home"
        shutil.copytree(SCENARIO / "repo", workspace)
        home.mkdir()
        with ModelServer(script or scenario["model"], str(workspace)) as server:
            server.faults.extend(Fault(**fault) for fault in faults)
            done = run_agent(agent, scenario_prompt(scenario), server.url, workspace, home, max_turns=max_turns)
        return normalize(done.stdout, workspace, home, server.url)


def main(names: list[str]) -> int:
    """Record the transcripts named (those that start with a name given: ``codex``), or all."""
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    wanted = [name for name in [*RECORDINGS, *AGENT_RECORDINGS] if not names or name.startswith(tuple(names))]
    for name in wanted:
        path = TRANSCRIPTS / f"{name}.jsonl"
        text = record(*RECORDINGS[name]) if name in RECORDINGS else record_agent(*AGENT_RECORDINGS[name])
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
