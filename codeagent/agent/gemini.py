"""Gemini CLI: its command line, its settings file, and its stream-json transcript read as it comes.

``gemini -o stream-json`` prints one JSON object per line: ``init`` (the session id and the
model), ``message`` (the user's prompt; the model's text in ``delta`` pieces), ``tool_use`` and
``tool_result`` for each tool call, and one ``result`` at the end (``status`` ``success`` or
``error``). The turn limit is its own (``model.maxSessionTurns``); the budget is the gateway's,
which refuses a call past it with a 400 in Google's shape, which Gemini CLI does not retry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from codeagent.agent import sessions
from codeagent.agent.base import CliResult, Launch, LaunchRequest
from codeagent.agent.jsonlines import JsonLines, as_dict, ran, readable, said_by
from codeagent.text import first_line

SESSIONS = sessions.SessionLayout("gemini", ".gemini/tmp/*/chats/session-*-{id8}.jsonl")
"""Where Gemini CLI keeps a session: ``~/.gemini/tmp/<project>/chats/session-<time>-<first 8 of id>.jsonl``."""
NOT_FOUND = "No previous sessions found"
"""What Gemini CLI says when ``--resume`` names a session it does not have (exit code 42)."""
MAX_TURNS = "Reached max session turns"
"""How its result says ``model.maxSessionTurns`` stopped it."""


class GeminiCli:
    """Gemini CLI, the bundle of npm's @google/gemini-cli, run by the Node.js beside it."""

    name = "gemini"
    title = "Gemini CLI"
    vendor = "google"
    default_model = "gemini-2.5-pro"
    placeholder_key = "codeagent-placeholder"

    def launch(self, request: LaunchRequest) -> Launch:
        env = {
            "GEMINI_API_KEY": self.placeholder_key,
            "GOOGLE_GEMINI_BASE_URL": request.base_url,
            # It would start itself again as a child process (for a larger heap): a second of startup.
            "GEMINI_CLI_NO_RELAUNCH": "true",
        }
        return Launch(command_line(request), env, {".gemini/settings.json": settings_json(request.max_turns)})

    def transcript(self, workspace: str) -> Transcript:
        return Transcript(workspace)

    def session_note(self, home: Path, workspace: str, session_id: str) -> str | None:
        return sessions.pack(SESSIONS, home, workspace, session_id)

    def restore_session(self, home: Path, note: str | None) -> str | None:
        return sessions.unpack(SESSIONS, home, note)


def command_line(request: LaunchRequest) -> list[str]:
    """The argument list that runs Gemini CLI headless; never a shell string.

    ``--prompt=`` keeps a prompt that starts with ``-`` a value; ``--yolo`` approves every tool
    call (the container is the sandbox) and ``--skip-trust`` trusts the checkout.
    """
    directory = f"{request.cli_dir}/gemini"
    command = [f"{directory}/node", f"{directory}/bundle/gemini.js", "--yolo", "--skip-trust",
               "-m", request.model, "-o", "stream-json"]
    if request.resume:
        command += ["--resume", request.resume]
    return [*command, f"--prompt={request.prompt}"]


def settings_json(max_turns: int) -> str:
    """``~/.gemini/settings.json``: the API key as the way in, the turn limit, nothing that calls home."""
    return json.dumps({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "model": {"maxSessionTurns": max_turns},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }, indent=2) + "\n"


class Transcript(JsonLines):
    """Reads stream-json lines as they arrive: log lines now, a `CliResult` at the end."""

    def __init__(self, workspace: str = "") -> None:
        super().__init__(workspace)
        self._final: dict | None = None
        self._said: list[str] = []
        """The model's text streaming in, shown once it is whole."""
        self._streaming = False
        self._tools: dict[str, str] = {}
        """Tool call id -> the tool's name (results come after several calls)."""

    def feed(self, line: str) -> list[str]:
        """Take one line; the model's text is shown once the next thing after it comes."""
        if not line.strip():
            return []
        self._streaming = False
        lines = super().feed(line)
        return lines if self._streaming else self._flush_before(lines)

    def result(self, stderr: Sequence[str] = ()) -> CliResult:
        """What the ``result`` line said; without one, an error with the last output."""
        no_session = self.said(stderr, NOT_FOUND)
        final = self._final
        if final is None:
            tail = self.other_output(stderr)
            return CliResult(session_id=self.session_id, no_session=no_session,
                             error="Gemini CLI ended without a result" + (f"; its last output:\n{tail}" if tail else ""))
        if final.get("status") == "success":
            return CliResult(session_id=self.session_id, finished=True)
        error = as_dict(final.get("error"))
        message = readable(error.get("message") or f"Gemini CLI reported `{final.get('status')}`")[:2000]
        return CliResult(session_id=self.session_id, error=message, no_session=no_session or NOT_FOUND in message,
                         said_limit="max-turns" if MAX_TURNS in message else "")

    def _flush_before(self, lines: list[str]) -> list[str]:
        if not self._said:
            return lines
        text, self._said = "".join(self._said), []
        return ([said_by("Gemini", text)] if text.strip() else []) + lines

    def _on_init(self, message: dict) -> list[str]:
        if self.session_id:  # the session is the one the CLI announced first: a later line may be a forgery
            return []
        self.session_id = str(message.get("session_id") or "")
        return [f"Gemini CLI started (model {message.get('model')}, session {self.session_id})"]

    def _on_message(self, message: dict) -> list[str]:
        if message.get("role") == "assistant":
            self._said.append(str(message.get("content") or ""))
            self._streaming = bool(message.get("delta"))
        return []

    def _on_tool_use(self, message: dict) -> list[str]:
        self._tools[str(message.get("tool_id"))] = first_line(str(message.get("tool_name")), 60)
        return [describe_tool_call(str(message.get("tool_name")), message.get("parameters"), self.workspace)]

    def _on_tool_result(self, message: dict) -> list[str]:
        if message.get("status") != "error":
            return []
        error = as_dict(message.get("error"))
        tool = self._tools.get(str(message.get("tool_id")), "a tool")
        return [f"  {tool} failed: {first_line(str(error.get('message') or message.get('output') or ''), 200)}"]

    def _on_error(self, message: dict) -> list[str]:
        return [f"Gemini CLI: {first_line(str(message.get('message') or ''), 300)}"]

    def _on_result(self, message: dict) -> list[str]:
        self._final = message
        result = self.result()
        if result.said_limit:
            return [f"Gemini CLI stopped at the `{result.said_limit}` limit"]
        if not result.finished:
            return [f"Gemini CLI failed: {first_line(result.error, 300)}"]
        return ["Gemini CLI finished"]

    handlers = {"init": _on_init, "message": _on_message, "tool_use": _on_tool_use,
                "tool_result": _on_tool_result, "error": _on_error, "result": _on_result}


def describe_tool_call(name: str, parameters: Any, workspace: str = "") -> str:
    """One plain line for a Gemini CLI tool call: "Read textstats/__init__.py", "Ran `pytest`"."""
    args = parameters if isinstance(parameters, dict) else {}
    reader = JsonLines(workspace)

    def path(key: str = "file_path") -> str:
        return reader.path(args.get(key) or args.get("dir_path") or args.get("path"))

    def quoted(key: str) -> str:
        return f"`{first_line(str(args.get(key, '')), 120)}`"

    describe = {
        "read_file": lambda: f"Read {path()}",
        "read_many_files": lambda: "Read several files",
        "write_file": lambda: f"Wrote {path()}",
        "replace": lambda: f"Edited {path()}",
        "run_shell_command": lambda: ran(args.get("command")),
        "list_directory": lambda: f"Listed {path('dir_path')}",
        "glob": lambda: f"Listed files matching {quoted('pattern')}",
        "grep_search": lambda: f"Searched for {quoted('pattern')}",
        "search_file_content": lambda: f"Searched for {quoted('pattern')}",
        "web_fetch": lambda: f"Fetched {first_line(str(args.get('prompt') or args.get('url') or ''), 200)}",
        "google_web_search": lambda: f"Searched the web for {quoted('query')}",
        "write_todos": lambda: "Updated the to-do list",
    }.get(name)
    return describe() if describe else f"Used {first_line(name, 60)}"
