"""Claude Code: its command line, its environment, and its stream-json transcript read as it comes.

`--output-format stream-json --verbose` prints one JSON object per line: a `system` `init`
line, `assistant` messages (text and tool_use blocks), `user` messages carrying tool results,
and one final `result` line. The log shows each tool call in plain words; the result line is
read for what `CliResult` keeps (its numbers are the gateway's business).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from codeagent.agent import sessions
from codeagent.agent.base import CliResult, Launch, LaunchRequest
from codeagent.agent.jsonlines import JsonLines
from codeagent.text import first_line, relative_to

LIMIT_SUBTYPES = {"error_max_turns": "max-turns", "error_max_budget_usd": "max-cost-usd"}
"""Result subtypes that mean a limit stopped the agent, and the input that set it."""

DEFAULT_TOOLS = ("Bash", "Edit", "Glob", "Grep", "MultiEdit", "Read", "TodoWrite", "Write")
"""The Claude Code built-in tools the agent gets unless `allowed-tools` says otherwise."""


class ClaudeCli:
    """Claude Code, from the claude-agent-sdk wheel (a self-contained executable)."""

    name = "claude"
    title = "Claude Code"
    vendor = "anthropic"
    default_model = "sonnet"
    placeholder_key = "sk-ant-codeagent-placeholder"

    def launch(self, request: LaunchRequest) -> Launch:
        env = {
            "ANTHROPIC_API_KEY": self.placeholder_key,
            "ANTHROPIC_BASE_URL": request.base_url,
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        return Launch(command_line(request), env)

    def transcript(self, workspace: str) -> Transcript:
        return Transcript(workspace)

    def session_note(self, home: Path, workspace: str, session_id: str) -> str | None:
        return sessions.pack_session(home, workspace, session_id)

    def restore_session(self, home: Path, note: str | None) -> str | None:
        return sessions.unpack_session(home, note)


def command_line(request: LaunchRequest) -> list[str]:
    """The argument list that runs Claude Code headless; never a shell string.

    `--tools` limits the built-in tools to the allowed ones (`--allowedTools` would only
    pre-approve them). The prompt goes last, after `--`, so a prompt that starts with `-`
    is not read as an option. `--max-budget-usd` makes the CLI stop itself between turns
    at the budget; the gateway refuses any call past it either way.
    """
    command = [
        f"{request.cli_dir}/claude", "-p",
        "--output-format", "stream-json", "--verbose",
        "--permission-mode", "bypassPermissions",
        "--max-turns", str(request.max_turns),
        "--model", request.model,
        "--tools", ",".join(request.allowed_tools or DEFAULT_TOOLS),
    ]
    if request.max_cost_usd is not None:
        command += ["--max-budget-usd", f"{request.max_cost_usd:g}"]
    if request.resume:
        command += ["--resume", request.resume]
    return [*command, "--", request.prompt]


class Transcript(JsonLines):
    """Reads stream-json lines as they arrive: log lines now, a `CliResult` at the end."""

    def __init__(self, workspace: str = "") -> None:
        super().__init__(workspace)  # empty: init's `cwd`
        self._final: dict[str, Any] | None = None

    def result(self, stderr: Sequence[str] = ()) -> CliResult:
        """What the last result line said; without one, an error saying the CLI stopped without it."""
        final = self._final
        if final is None:
            tail = self.other_output(stderr)
            return CliResult(session_id=self.session_id,
                             error="Claude Code ended without a result" + (f"; its last output:\n{tail}" if tail else ""))
        is_error = bool(final.get("is_error"))
        subtype = str(final.get("subtype") or "")
        error = _error_text(final) if is_error else ""
        # The session is the one the CLI announced first: a later line may be the agent's forgery.
        return CliResult(session_id=self.session_id,
                         finished=not is_error and subtype == "success", error=error,
                         said_limit=LIMIT_SUBTYPES.get(subtype, ""), no_session=sessions.NOT_FOUND in error)

    def _on_system(self, message: dict) -> list[str]:
        if message.get("subtype") == "init" and not self.session_id:  # the CLI's own, printed first
            self.session_id = str(message.get("session_id") or "")
            self.workspace = self.workspace or str(message.get("cwd") or "")
            version = message.get("claude_code_version") or "?"
            return [f"Claude Code {version} started (model {message.get('model')}, session {self.session_id})"]
        if message.get("subtype") == "api_retry":
            error = " ".join(str(part) for part in (message.get("error_status"), message.get("error")) if part)
            return [f"API error ({error or 'no response'}), retrying: "
                    f"attempt {message.get('attempt')} of {message.get('max_retries')}"]
        return []

    def _on_assistant(self, message: dict) -> list[str]:
        body = _body(message)
        synthetic = bool(message.get("is_api_error_message")) or body.get("model") == "<synthetic>"
        lines = []
        for block in _blocks(body):
            if block.get("type") == "text" and str(block.get("text", "")).strip() and not synthetic:
                # The CLI's own error text (a synthetic message) is logged with the result instead.
                lines.append(f"Claude: {first_line(' '.join(str(block['text']).split()), 200)}")
            elif block.get("type") == "tool_use":
                lines.append(describe_tool_call(str(block.get("name")), block.get("input"), self.workspace))
        return lines

    def _on_user(self, message: dict) -> list[str]:
        body = _body(message)
        return [f"  failed: {first_line(_tool_result_text(block.get('content')), 200)}"
                for block in _blocks(body) if block.get("type") == "tool_result" and block.get("is_error")]

    def _on_result(self, message: dict) -> list[str]:
        self._final = message
        result = self.result()
        if result.said_limit:
            return [f"Claude Code stopped at the `{result.said_limit}` limit"]
        if not result.finished:
            return [f"Claude Code failed: {first_line(result.error, 300)}"]
        return ["Claude Code finished"]

    handlers = {"system": _on_system, "assistant": _on_assistant, "user": _on_user, "result": _on_result}


def describe_tool_call(name: str, tool_input: Any, workspace: str = "") -> str:
    """One plain line for a tool call: "Read textstats/__init__.py", "Ran `pytest`"."""
    args = tool_input if isinstance(tool_input, dict) else {}

    def path(key: str = "file_path") -> str:
        return relative_to(str(args.get(key) or args.get("path") or "."), workspace)

    def quoted(key: str) -> str:
        return f"`{first_line(str(args.get(key, '')), 120)}`"

    describe = {
        "Read": lambda: f"Read {path()}",
        "Edit": lambda: f"Edited {path()}",
        "MultiEdit": lambda: f"Edited {path()}",
        "Write": lambda: f"Wrote {path()}",
        "NotebookEdit": lambda: f"Edited {path('notebook_path')}",
        "Bash": lambda: f"Ran {quoted('command')}",
        "Glob": lambda: f"Listed files matching {quoted('pattern')}",
        "Grep": lambda: f"Searched for {quoted('pattern')}" + (f" in {path('path')}" if args.get("path") else ""),
        "TodoWrite": lambda: "Updated the to-do list",
        "Task": lambda: f"Started a subagent: {first_line(str(args.get('description', '')), 120)}",
        "WebFetch": lambda: f"Fetched {first_line(str(args.get('url', '')), 200)}",
        "WebSearch": lambda: f"Searched the web for {quoted('query')}",
    }.get(name)
    return describe() if describe else f"Used {first_line(name, 60)}"


def _body(message: dict) -> dict:
    """A message line's `message` object ({} when it is something else)."""
    body = message.get("message")
    return body if isinstance(body, dict) else {}


def _blocks(body: dict) -> list[dict]:
    """The content blocks of a message that are objects (a user message's content can be a string)."""
    content = body.get("content")
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def _tool_result_text(content: Any) -> str:
    """A tool result's text; results are a string or a list of text blocks."""
    if isinstance(content, list):
        return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return str(content or "")


def _error_text(final: dict) -> str:
    """Why a result is an error: its `errors`, its text, or its subtype."""
    errors = final.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(error) for error in errors)[:2000]
    result = final.get("result")
    return (result if isinstance(result, str) and result else f"Claude Code reported `{final.get('subtype')}`")[:2000]
