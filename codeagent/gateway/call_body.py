"""What a model call's body asks of the model API besides its conversation: tools the API runs itself,
context it keeps itself, and how much output it may write.

Tools the API runs on the vendor's side (web search and fetch, MCP servers, code execution) reach the
network from there, past the egress policy and the sandbox's `network: none`: the gateway passes them
only when the run's network is `open`. Fields that bill what the body does not show (a stored response,
a conversation or a cache) or answer before the cost is known (a background response) are never passed:
the budget could not see them. The agent CLIs send none of them (measured in the bench: Claude Code
2.1.330's tools have no ``type``, Codex CLI 0.171.0 sends ``function``, ``custom`` and a client-run
``tool_search`` when its ``web_search`` is off, Gemini CLI 0.61.0 only ``functionDeclarations``).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

ANTHROPIC_CLIENT_TOOL = re.compile(r"custom|(bash|text_editor|computer|memory)_\d{8}")
"""Types of the tools the client runs: a custom tool (Claude Code's have no type at all), or one of the
Anthropic-defined tools whose calls come back to the client to run (bash, text editor, computer, memory)."""
OPENAI_CLIENT_TOOLS = frozenset({"function", "custom", "local_shell", "shell", "apply_patch"})
"""Responses API tool types the client runs (``tool_search`` too, when its ``execution`` is ``client``)."""
GEMINI_CLIENT_TOOLS = frozenset({"functionDeclarations", "function_declarations"})
"""Keys of a Gemini tool the client runs; any other (``googleSearch``, ``urlContext``, ``codeExecution``,
``google_search_retrieval``...) the API runs itself."""
UNSEEN_FIELDS = {
    "openai": ("background", "previous_response_id", "conversation", "prompt"),
    "google": ("cachedContent", "cached_content"),
}
"""Fields the gateway never passes: a background response returns before its usage is known, and a stored
response, conversation, prompt or cache bills input (and may add tools) the body does not show."""
UPLOADED = ("data:", "file-", "files/", "https://generativelanguage.googleapis.com/")
"""Content a URL source may name without a fetch: inline data, or a file uploaded to the vendor's API."""
DEFAULT_MAX_OUTPUT_TOKENS = {"anthropic": 128_000, "openai": 128_000, "google": 65_536}
"""The output a call may write when it sets no limit: its models' largest (Claude Opus and Sonnet with
extended output, GPT-5 and later: 128k; Gemini 2.5: 65,536). Anthropic requires ``max_tokens``."""


def vendor_side_tools(vendor: str, body: Any) -> tuple[str, ...]:
    """The tools (and MCP servers) in ``body`` that the model API would run itself, by type, and the
    content it would fetch itself from a URL (`url_sources`)."""
    if not isinstance(body, dict):
        return ()
    return (*_tools(vendor, body), *url_sources(vendor, body))


def url_sources(vendor: str, body: dict) -> tuple[str, ...]:
    """Content the model API would fetch from a URL itself (an image, a document, a file), past the
    sandbox's network: Anthropic's ``source`` of type ``url``, OpenAI's ``image_url``/``file_url``,
    Gemini's ``fileData.fileUri``; an inline (``data:``) or uploaded one fetches nothing."""
    conversation = body.get({"anthropic": "messages", "openai": "input"}.get(vendor, "contents"))
    for item in _objects(conversation):
        if any(_remote(value) for value in _urls(vendor, item)):
            return ("url_source",)
    return ()


def _urls(vendor: str, item: dict) -> list[Any]:
    """What ``item`` of a conversation names for the API to fetch, in ``vendor``'s shape."""
    if vendor == "openai":
        return [item.get("image_url"), item.get("file_url")]
    if vendor == "anthropic":
        source = item.get("source")
        return [source.get("url")] if isinstance(source, dict) and source.get("type") == "url" else []
    data = item.get("fileData") or item.get("file_data")
    return [data.get("fileUri") or data.get("file_uri")] if isinstance(data, dict) else []


def _remote(value: Any) -> bool:
    url = value.get("url") if isinstance(value, dict) else value
    return isinstance(url, str) and not url.lower().startswith(UPLOADED)


def _objects(value: Any) -> Iterator[dict]:
    """Every object in ``value`` (lists and objects within it), to a depth no conversation needs more of."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            yield item
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if depth < 40:
            stack.extend((child, depth + 1) for child in children)


def _tools(vendor: str, body: dict) -> tuple[str, ...]:
    tools = [tool for tool in _list(body.get("tools")) if isinstance(tool, dict)]
    if vendor == "anthropic":
        typed = [str(tool["type"]) for tool in tools
                 if tool.get("type") is not None and not ANTHROPIC_CLIENT_TOOL.fullmatch(str(tool["type"]))]
        return (*typed, *(["mcp_servers"] if body.get("mcp_servers") else []))
    if vendor == "openai":
        return tuple(str(tool.get("type")) for tool in tools if not _openai_client_tool(tool))
    return tuple(key for tool in tools for key in tool if key not in GEMINI_CLIENT_TOOLS)


def _openai_client_tool(tool: dict) -> bool:
    kind = tool.get("type")
    return kind in OPENAI_CLIENT_TOOLS or (kind == "tool_search" and tool.get("execution") == "client")


def unseen_fields(vendor: str, body: Any) -> tuple[str, ...]:
    """The fields of ``body`` (set, not null or false) that the gateway never passes (`UNSEEN_FIELDS`)."""
    if not isinstance(body, dict):
        return ()
    return tuple(name for name in UNSEEN_FIELDS.get(vendor, ()) if body.get(name) not in (None, False, "", {}, []))


def max_output_tokens(vendor: str, body: Any) -> int:
    """The most output tokens (thinking included) the call may be billed for: its own limit, or the
    vendor's default; for Gemini, times the candidates it asks for."""
    if not isinstance(body, dict):
        return DEFAULT_MAX_OUTPUT_TOKENS[vendor]
    if vendor != "google":
        limit = _count(body.get("max_tokens" if vendor == "anthropic" else "max_output_tokens"))
        return limit or DEFAULT_MAX_OUTPUT_TOKENS[vendor]
    configs = [config for config in (body.get("generationConfig"), body.get("generation_config"))
               if isinstance(config, dict)]
    limit = max((_count(config.get(key)) for config in configs for key in ("maxOutputTokens", "max_output_tokens")),
                default=0)
    candidates = max((_count(config.get(key)) for config in configs for key in ("candidateCount", "candidate_count")),
                     default=0)
    return (limit or DEFAULT_MAX_OUTPUT_TOKENS[vendor]) * max(candidates, 1)


def _count(value: Any) -> int:
    """A positive count as JSON may spell it (Gemini's proto JSON takes ``8``, ``8.0`` and ``"8"``); else 0."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
