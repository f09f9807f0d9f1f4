"""Record real Claude Code stream-json transcripts for the parser's golden tests.

Runs the bundled CLI against the scripted model server with the add-word-count
scenario and writes tests/fixtures/transcripts/*.jsonl. Run it again after
upgrading claude-agent-sdk (which ships the CLI):

    .venv/bin/python -m bench.record_transcript

Temporary paths are replaced so the files stay stable: the workspace becomes
``/workspace``, the CLI's home ``/home/runner`` and the server ``127.0.0.1:8080``.
"""

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from bench.cli import run_claude
from bench.model.server import Fault, ModelServer

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


def main() -> int:
    """Record every transcript in RECORDINGS."""
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    for name, (max_turns, faults, env) in RECORDINGS.items():
        path = TRANSCRIPTS / f"{name}.jsonl"
        path.write_text(record(max_turns, faults, env))
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
