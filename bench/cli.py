"""Run the real Claude Code CLI on this machine against the scripted model server."""

import importlib.util
import os
import subprocess
from pathlib import Path

TEST_API_KEY = "sk-ant-test-0000000000000000"
MODEL = "claude-sonnet-4-5"


def claude_binary() -> Path:
    """The Claude Code CLI bundled in the installed claude-agent-sdk wheel."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or spec.origin is None:
        raise RuntimeError("claude-agent-sdk is not installed: pip install -r requirements-dev.txt")
    return Path(spec.origin).parent / "_bundled" / "claude"


def claude_command(prompt: str, max_turns: int = 10) -> list[str]:
    """The CLI's arguments for one non-interactive run with stream-json output."""
    return [str(claude_binary()), "-p", prompt, "--output-format", "stream-json",
            "--verbose", "--permission-mode", "bypassPermissions",
            "--max-turns", str(max_turns), "--model", MODEL]


def claude_env(base_url: str, home: Path) -> dict[str, str]:
    """Environment that points the CLI at ``base_url`` and keeps it off the network.

    IS_SANDBOX=1 lets bypassPermissions run as root, which it refuses otherwise;
    the product runs the CLI as a non-root user in a container instead.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "IS_SANDBOX": "1",
    }


def run_claude(prompt: str, base_url: str, workspace: Path, home: Path, max_turns: int = 10,
               extra_env: dict[str, str] | None = None,
               timeout: float = 100) -> subprocess.CompletedProcess:
    """Run the CLI once in ``workspace`` and return what it printed."""
    env = {**claude_env(base_url, home), **(extra_env or {})}
    return subprocess.run(claude_command(prompt, max_turns), cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_agent(agent: str, prompt: str, base_url: str, workspace: Path, home: Path, max_turns: int = 10,
              resume: str | None = None, timeout: float = 120, model: str = "") -> subprocess.CompletedProcess:
    """Run Codex or Gemini CLI once in ``workspace``, as codeagent launches it in the sandbox: its own
    command line, environment and config files (codeagent/agent/), on the bench's copy of the pinned
    CLI (bench/clis.py) and with ``base_url`` for the gateway."""
    from codeagent.agent import CLIS
    from codeagent.agent.base import LaunchRequest

    cli = CLIS[agent]()
    cli_dir = _cli_dir(home.parent / "cli")
    request = LaunchRequest(prompt=prompt, model=model or cli.default_model, max_turns=max_turns, base_url=base_url,
                            cli_dir=str(cli_dir), home=str(home), workspace=str(workspace), resume=resume)
    launch = cli.launch(request)
    for relative, text in launch.files.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(text)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **launch.env}
    return subprocess.run(launch.command, cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _cli_dir(directory: Path) -> Path:
    """A CLI directory laid out as in the image (``codex/``, ``gemini/`` with ``node`` beside the
    bundle), of links to the bench's copies."""
    from bench.clis import codex_binary, gemini_command

    node, gemini_js = (Path(path) for path in gemini_command())
    links = {"codex": codex_binary().parents[1], "gemini/node": node,
             "gemini/bundle": gemini_js.parent, "gemini/package.json": gemini_js.parents[1] / "package.json"}
    for relative, target in links.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        if not (directory / relative).is_symlink():
            (directory / relative).symlink_to(target)
    return directory
