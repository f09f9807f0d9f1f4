"""Codex CLI: its command line, its config file, and its JSON-lines transcript read as it comes.

``codex exec --json`` prints one JSON object per line: ``thread.started`` (the session id),
``turn.started``, ``item.started``/``item.completed`` for each thing the agent does
(``command_execution``, ``file_change``, ``agent_message``...), ``error`` lines (a retry, a
failure) and one ``turn.completed`` or ``turn.failed`` at the end. Codex has no limits of its
own: the gateway counts the turns and the cost and refuses a call past `max-turns` or the
budget (a 400 in OpenAI's shape, which Codex does not retry).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from codeagent.agent import sessions
from codeagent.agent.base import CliResult, Launch, LaunchRequest
from codeagent.agent.jsonlines import JsonLines, as_dict, ran, readable, said_by
from codeagent.text import first_line

SESSIONS = sessions.SessionLayout("codex", ".codex/sessions/*/*/*/rollout-*-{id}.jsonl")
"""Where Codex keeps a thread: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl``."""
NOT_FOUND = "no rollout found for thread id"
"""What Codex says (on stderr) when ``exec resume`` names a thread it does not have."""
TMPDIR = "/tmp/codeagent-tmp"
"""Codex refuses to make its helper links (``apply_patch`` as a command) in a CODEX_HOME under
the temporary directory, and the agent's HOME is under /tmp: so TMPDIR is elsewhere in /tmp."""
RUN_WITHOUT_STDIN = 'mkdir -p "$TMPDIR" && exec "$0" "$@" </dev/null'
"""``codex exec`` reads stdin to the end before it starts (to add it to the prompt): give it none."""
RETRY = re.compile(r"Reconnecting\.\.\. (\d+)/(\d+)(?: \((.*)\))?$", re.DOTALL)


class CodexCli:
    """Codex CLI, the static musl binary of npm's @openai/codex (no Node.js needed)."""

    name = "codex"
    title = "Codex CLI"
    vendor = "openai"
    default_model = "gpt-5.5"
    placeholder_key = "sk-codeagent-placeholder"

    def launch(self, request: LaunchRequest) -> Launch:
        env = {"CODEX_HOME": f"{request.home}/.codex", "CODEX_API_KEY": self.placeholder_key, "TMPDIR": TMPDIR}
        config = config_toml(request.base_url, request.vendor_web_search)
        return Launch(command_line(request), env, {".codex/config.toml": config})

    def transcript(self, workspace: str) -> Transcript:
        return Transcript(workspace)

    def session_note(self, home: Path, workspace: str, session_id: str) -> str | None:
        return sessions.pack(SESSIONS, home, workspace, session_id)

    def restore_session(self, home: Path, note: str | None) -> str | None:
        return sessions.unpack(SESSIONS, home, note)


def command_line(request: LaunchRequest) -> list[str]:
    """The argument list that runs Codex headless; never a shell string (the shell only closes stdin).

    Codex's own sandbox (bubblewrap) cannot work in a container without privileges, and the
    container is the sandbox: it is bypassed. The prompt goes last, after `--`.
    """
    options = ["--json", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "-m", request.model]
    if request.resume:
        arguments = ["exec", "resume", *options, "--", request.resume, request.prompt]
    else:
        arguments = ["exec", *options, "-C", request.workspace, "--", request.prompt]
    return ["/bin/sh", "-c", RUN_WITHOUT_STDIN, f"{request.cli_dir}/codex/bin/codex", *arguments]


def config_toml(base_url: str, web_search: bool = False) -> str:
    """``$CODEX_HOME/config.toml``: the gateway as the model provider, and nothing that calls home.

    The base URL has no ``/v1``: the gateway puts the upstream's own path in front. Without
    `plugins` and `analytics` Codex contacts no other host (github.com, chatgpt.com). Codex offers the
    Responses API's own ``web_search`` tool on every call unless it is off; the gateway refuses that
    tool unless ``web_search`` (the run's network is open), so it is off otherwise.
    """
    return "\n".join([
        'model_provider = "codeagent"',
        *([] if web_search else ['web_search = "disabled"']),
        "",
        "[model_providers.codeagent]",
        'name = "codeagent gateway"',
        f"base_url = {json.dumps(base_url)}",
        'wire_api = "responses"',
        'env_key = "CODEX_API_KEY"',
        "",

        "[features]",
        "plugins = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
    ])


class Transcript(JsonLines):
    """Reads ``codex exec --json`` lines as they arrive: log lines now, a `CliResult` at the end."""

    def __init__(self, workspace: str = "") -> None:
        super().__init__(workspace)
        self._shown: set[str] = set()
        self._end: dict | None = None
        self._last_error: str = ""

    def result(self, stderr: Sequence[str] = ()) -> CliResult:
        """What ``turn.completed``/``turn.failed`` said; without either, an error with the last output."""
        no_session = self.said(stderr, NOT_FOUND)
        if self._end is None:
            tail = self.other_output(stderr)
            error = self._last_error or "Codex CLI ended without finishing its turn"
            return CliResult(session_id=self.session_id, error=error + (f"; its last output:\n{tail}" if tail else ""),
                             no_session=no_session)
        if self._end.get("type") == "turn.completed":
            return CliResult(session_id=self.session_id, finished=True)
        said = readable(as_dict(self._end.get("error")).get("message"))
        return CliResult(session_id=self.session_id, error=(said or self._last_error or "the turn failed")[:2000],
                         no_session=no_session)

    def _on_thread(self, message: dict) -> list[str]:
        if self.session_id:  # the thread is the one the CLI announced first: a later line may be a forgery
            return []
        self.session_id = str(message.get("thread_id") or "")
        return [f"Codex CLI started (thread {self.session_id})"]

    def _on_item_started(self, message: dict) -> list[str]:
        item = as_dict(message.get("item"))
        return self._show(item)

    def _on_item_completed(self, message: dict) -> list[str]:
        item = as_dict(message.get("item"))
        kind, status = item.get("type"), item.get("status")
        if kind == "agent_message" and str(item.get("text") or "").strip():
            return [said_by("Codex", item["text"])]
        if kind == "error":
            return [f"Codex CLI: {first_line(str(item.get('message') or ''), 300)}"]
        lines = self._show(item)
        if kind == "command_execution" and status == "failed":
            output = first_line("\n".join(str(item.get("aggregated_output") or "").splitlines()[-3:]), 200)
            lines.append(f"  failed (exit code {item.get('exit_code')})" + (f": {output}" if output else ""))
        elif status == "failed":
            lines.append("  failed")
        return lines

    def _on_error(self, message: dict) -> list[str]:
        text = readable(message.get("message"))
        retry = RETRY.match(text)
        if retry:
            return [f"API error ({first_line(retry[3] or 'no response', 200)}), retrying: "
                    f"attempt {retry[1]} of {retry[2]}"]
        self._last_error = text[:2000]
        return []

    def _on_turn_end(self, message: dict) -> list[str]:
        self._end = message
        result = self.result()
        return ["Codex CLI finished"] if result.finished else [f"Codex CLI failed: {first_line(result.error, 300)}"]

    def _show(self, item: dict) -> list[str]:
        """The log lines of an item the first time it is seen (started, or completed without a start)."""
        item_id = str(item.get("id") or "")
        if item_id and item_id in self._shown:
            return []
        self._shown.add(item_id)
        kind = item.get("type")
        if kind == "command_execution":
            return [ran(item.get("command"))]
        if kind == "file_change":
            return [f"{CHANGE_VERBS.get(str(change.get('kind')), 'Changed')} {self.path(change.get('path'))}"
                    for change in item.get("changes") or [] if isinstance(change, dict)]
        if kind == "mcp_tool_call":
            return [f"Used {first_line(str(item.get('server')), 40)}.{first_line(str(item.get('tool')), 60)}"]
        if kind == "web_search":
            return [f"Searched the web for `{first_line(str(item.get('query') or ''), 120)}`"]
        if kind == "todo_list":
            return ["Updated the to-do list"]
        return []

    handlers = {"thread.started": _on_thread, "item.started": _on_item_started,
                "item.completed": _on_item_completed, "error": _on_error,
                "turn.completed": _on_turn_end, "turn.failed": _on_turn_end}


CHANGE_VERBS = {"add": "Wrote", "update": "Edited", "delete": "Deleted"}
"""How a ``file_change``'s ``kind`` reads in the log."""
