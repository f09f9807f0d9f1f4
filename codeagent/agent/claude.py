"""The Claude Code CLI: its command line, and its stream-json transcript read as it comes.

`--output-format stream-json --verbose` prints one JSON object per line: a `system`
`init` line, `assistant` messages (text and tool_use blocks, one line per block,
the same message id on each), `user` messages carrying tool results, and one final
`result` line with the turns, duration, tokens and cost.
"""

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LIMIT_SUBTYPES = {"error_max_turns": "max-turns", "error_max_budget_usd": "max-cost-usd"}
"""Result subtypes that mean a limit stopped the agent, and the input that set it."""

PRICES_PER_MTOK = {  # input, output, cache write, cache read; https://docs.claude.com/en/docs/about-claude/pricing
    "opus-4-1": (15.0, 75.0, 18.75, 1.5),
    "opus-4-2025": (15.0, 75.0, 18.75, 1.5),
    "3-opus": (15.0, 75.0, 18.75, 1.5),
    "opus": (5.0, 25.0, 6.25, 0.5),
    "3-5-haiku": (0.8, 4.0, 1.0, 0.08),
    "haiku": (1.0, 5.0, 1.25, 0.1),
    "sonnet": (3.0, 15.0, 3.75, 0.3),
}
"""US dollars per million tokens by model name part (first match wins), for the running estimate only."""


def claude_command(prompt: str, *, cli: str, model: str, max_turns: int, allowed_tools: Sequence[str],
                   max_cost_usd: float | None = None, resume_session: str | None = None) -> list[str]:
    """The argument list that runs Claude Code headless on `prompt`; never a shell string.

    `--tools` limits the built-in tools to `allowed_tools` (`--allowedTools` would only
    pre-approve them). The prompt goes last, after `--`, so a prompt that starts with
    `-` is not read as an option.
    """
    command = [
        cli, "-p",
        "--output-format", "stream-json", "--verbose",
        "--permission-mode", "bypassPermissions",
        "--max-turns", str(max_turns),
        "--model", model,
        "--tools", ",".join(allowed_tools),
    ]
    if max_cost_usd is not None:
        command += ["--max-budget-usd", f"{max_cost_usd:g}"]
    if resume_session:
        command += ["--resume", resume_session]
    return [*command, "--", prompt]


@dataclass(frozen=True)
class AgentResult:
    """What the agent's run came to, from the transcript's final `result` line."""

    summary: str
    """The agent's closing text (for a run stopped early: its last text)."""
    is_error: bool
    """True when the run failed or was stopped; can be True with subtype `success` (API errors)."""
    subtype: str
    """`success`, `error_max_turns`, `error_max_budget_usd`, `error_during_execution`, or `no_result`."""
    num_turns: int
    duration_ms: int
    cost_usd: float
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    session_id: str
    error: str = ""
    """Why the run failed, in words; empty on success."""

    @property
    def stopped_at_limit(self) -> bool:
        """True when a limit (turns, budget) stopped the agent, so its work is partial."""
        return self.subtype in LIMIT_SUBTYPES

    @property
    def limit(self) -> str | None:
        """The input whose limit stopped the agent (`max-turns`, `max-cost-usd`), if one did."""
        return LIMIT_SUBTYPES.get(self.subtype)


class Transcript:
    """Reads stream-json lines as they arrive: log lines now, an `AgentResult` at the end."""

    def __init__(self, workspace: str = "") -> None:
        self.workspace = workspace
        """Directory the agent works in; paths under it are logged relative. Default: init's `cwd`."""
        self.session_id = ""
        self._final: dict[str, Any] | None = None
        self._usage_by_message: dict[str, tuple[str, dict]] = {}
        self._last_text = ""
        self._other_lines: deque[str] = deque(maxlen=20)

    @property
    def turns_so_far(self) -> int:
        """Model turns so far (each assistant message is one)."""
        if self._final is not None:
            return _int(self._final.get("num_turns"))
        return len(self._usage_by_message)

    @property
    def cost_so_far(self) -> float:
        """US dollars so far: exact once the result came, estimated from token usage before."""
        if self._final is not None:
            return _float(self._final.get("total_cost_usd"))
        return sum(_estimate_cost(model, usage) for model, usage in self._usage_by_message.values())

    def feed(self, line: str) -> list[str]:
        """Take one line of the CLI's output; return what to show in the log for it."""
        line = line.strip()
        if not line:
            return []
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._other_lines.append(line)
            return [line]
        handler = self._HANDLERS.get(message.get("type"))
        return handler(self, message) if handler else []

    def result(self, exit_status: int | None = None) -> AgentResult:
        """The run's outcome; when the CLI ended without a result line, an error saying so."""
        if self._final is None:
            return self._crash_result(exit_status)
        final = self._final
        usage = final.get("usage") if isinstance(final.get("usage"), dict) else {}
        is_error = bool(final.get("is_error"))
        result_text = final.get("result") if isinstance(final.get("result"), str) else ""
        return AgentResult(
            summary=((result_text if not is_error else "") or self._last_text).strip(),
            is_error=is_error,
            subtype=str(final.get("subtype") or "unknown"),
            num_turns=_int(final.get("num_turns")),
            duration_ms=_int(final.get("duration_ms")),
            cost_usd=_float(final.get("total_cost_usd")),
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
            cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
            cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
            session_id=str(final.get("session_id") or self.session_id),
            error=_error_text(final, result_text) if is_error else "",
        )

    def _crash_result(self, exit_status: int | None) -> AgentResult:
        """An error result for a CLI that stopped before printing its result line."""
        status = f" (exit status {exit_status})" if exit_status is not None else ""
        tail = "\n".join(self._other_lines)
        error = f"Claude Code ended without a result{status}." + (f" Its last output:\n{tail}" if tail else "")
        totals = _sum_usage(usage for _, usage in self._usage_by_message.values())
        return AgentResult(
            summary=self._last_text, is_error=True, subtype="no_result", num_turns=self.turns_so_far,
            duration_ms=0, cost_usd=self.cost_so_far, session_id=self.session_id, error=error, **totals,
        )

    def _on_system(self, message: dict) -> list[str]:
        if message.get("subtype") == "init":
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
        body = message.get("message") if isinstance(message.get("message"), dict) else {}
        if isinstance(body.get("usage"), dict):
            key = str(body.get("id") or len(self._usage_by_message))
            self._usage_by_message[key] = (str(body.get("model") or ""), body["usage"])
        synthetic = bool(message.get("is_api_error_message")) or body.get("model") == "<synthetic>"
        lines = []
        for block in _blocks(body):
            if block.get("type") == "text" and str(block.get("text", "")).strip() and not synthetic:
                # The CLI's own error text (a synthetic message) is logged with the result instead.
                self._last_text = str(block["text"]).strip()
                lines.append(f"Claude: {_one_line(self._last_text, 200)}")
            elif block.get("type") == "tool_use":
                lines.append(describe_tool_call(str(block.get("name")), block.get("input"), self.workspace))
        return lines

    def _on_user(self, message: dict) -> list[str]:
        body = message.get("message") if isinstance(message.get("message"), dict) else {}
        return [f"  failed: {_first_line(_tool_result_text(block.get('content')), 200)}"
                for block in _blocks(body) if block.get("type") == "tool_result" and block.get("is_error")]

    def _on_result(self, message: dict) -> list[str]:
        self._final = message
        outcome = self.result()
        turns = "1 turn" if outcome.num_turns == 1 else f"{outcome.num_turns} turns"
        numbers = f"{turns}, {outcome.duration_ms / 1000:.1f} s, ${outcome.cost_usd:.2f}"
        if outcome.stopped_at_limit:
            return [f"Stopped at the `{outcome.limit}` limit after {numbers}"]
        if outcome.is_error:
            return [f"Failed after {numbers}: {_first_line(outcome.error, 300)}"]
        return [f"Finished after {numbers}"]

    _HANDLERS = {"system": _on_system, "assistant": _on_assistant, "user": _on_user, "result": _on_result}


def describe_tool_call(name: str, tool_input: Any, workspace: str = "") -> str:
    """One plain line for a tool call: "Read textstats/__init__.py", "Ran `pytest`"."""
    args = tool_input if isinstance(tool_input, dict) else {}

    def path(key: str = "file_path") -> str:
        return _relative(str(args.get(key) or args.get("path") or "."), workspace)

    def quoted(key: str) -> str:
        return f"`{_first_line(str(args.get(key, '')), 120)}`"

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
        "Task": lambda: f"Started a subagent: {_first_line(str(args.get('description', '')), 120)}",
        "WebFetch": lambda: f"Fetched {args.get('url', '')}",
        "WebSearch": lambda: f"Searched the web for {quoted('query')}",
    }.get(name)
    return describe() if describe else f"Used {name}"


def _relative(path: str, workspace: str) -> str:
    """`path` relative to `workspace` when it lies inside it."""
    root = workspace.rstrip("/")
    if root and path == root:
        return "."
    return path.removeprefix(root + "/") if root else path


def _blocks(body: dict) -> list[dict]:
    """The content blocks of a message that are objects (a user message's content can be a string)."""
    content = body.get("content")
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def _tool_result_text(content: Any) -> str:
    """A tool result's text; results are a string or a list of text blocks."""
    if isinstance(content, list):
        return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return str(content or "")


def _error_text(final: dict, result_text: str) -> str:
    """Why a result is an error: its `errors`, its text, or its subtype."""
    errors = final.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(error) for error in errors)
    return result_text or f"Claude Code reported `{final.get('subtype')}`"


def _estimate_cost(model: str, usage: dict) -> float:
    """Estimated US dollars for one message's `usage` (output is counted low while streaming)."""
    prices = next((price for family, price in PRICES_PER_MTOK.items() if family in model), PRICES_PER_MTOK["sonnet"])
    counts = _sum_usage([usage]).values()
    return sum(count * price for count, price in zip(counts, prices)) / 1_000_000


def _sum_usage(usages: Any) -> dict[str, int]:
    """Token counts summed over usage objects, keyed like `AgentResult`'s fields."""
    keys = {"input_tokens": "input_tokens", "output_tokens": "output_tokens",
            "cache_creation_tokens": "cache_creation_input_tokens", "cache_read_tokens": "cache_read_input_tokens"}
    totals = dict.fromkeys(keys, 0)
    for usage in usages:
        for field, key in keys.items():
            totals[field] += _int(usage.get(key))
    return totals


def _one_line(text: str, limit: int) -> str:
    """`text` with its whitespace collapsed, cut to `limit` characters."""
    return _first_line(" ".join(text.split()), limit)


def _first_line(text: str, limit: int) -> str:
    """The first non-empty line of `text`, cut to `limit` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
