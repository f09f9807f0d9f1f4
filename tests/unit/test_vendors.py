"""Each vendor's API as the gateway reads it: the meter on each API's answers, the key check, the prices.

The streams are the scripted model's (bench/model/*_wire.py), which follow each API's documented
event sequence; bench/test_gateway_meter.py runs the real CLIs through the gateway on the same.
"""

from __future__ import annotations

import json

import pytest

from bench.model import gemini_wire, openai_wire
from bench.model.server import ModelServer
from codeagent.errors import ConfigError
from codeagent.gateway.keycheck import check_key
from codeagent.gateway.prices import PRICES, cost_usd, price_of
from codeagent.gateway.vendors import GOOGLE, OPENAI, Meter

SCRIPT = [{"type": "text", "text": "Done."}, {"type": "tool_use", "name": "exec_command", "input": {"cmd": "ls"}}]


def metered(vendor: str, chunks: list[bytes], model: str = ""):
    meter = Meter(vendor, model)
    for chunk in chunks:
        for start in range(0, len(chunk), 7):  # as the network cuts it
            meter.feed(chunk[start:start + 7])
    return meter.finish()


def test_a_responses_stream_is_read_for_the_usage_text_and_tool_calls_of_its_completion():
    body = {"model": "gpt-5.5", "stream": True, "tools": [{"type": "function", "name": "exec_command"}],
            "input": [{"type": "message", "role": "user", "content": "hi"}]}
    answer = openai_wire.respond("/v1/responses", body, SCRIPT)

    read = metered("openai", answer.chunks)

    tokens = openai_wire.tokens(answer.usage)
    assert (read.input_tokens, read.cache_read_tokens, read.output_tokens) == (
        tokens["input_tokens"], tokens["cache_read_tokens"], tokens["output_tokens"])
    assert (read.model, read.text, read.tool_calls, read.error) == ("gpt-5.5", ["Done."], 1, "")


@pytest.mark.parametrize("body", [
    openai_wire.error_body(429, "Rate limit reached"),
    {"type": "error", "code": "server_error", "message": "Rate limit reached"},
    {"type": "response.failed", "response": {"status": "failed", "error": {"code": "x", "message": "Rate limit reached"}}},
], ids=["http-error-body", "error-event", "response-failed"])
def test_an_openai_error_is_kept_in_its_words(body):
    assert metered("openai", [json.dumps(body).encode()]).error == "Rate limit reached"


def test_a_gemini_stream_is_read_for_the_last_chunk_s_usage_thoughts_counted_as_output():
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "a"}]},
                         {"role": "user", "parts": [{"text": "go on"}]}], "tools": [{"functionDeclarations": []}]}
    answer = gemini_wire.respond("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", body, SCRIPT)
    last = json.loads(answer.chunks[-1].decode().removeprefix("data: "))
    last["usageMetadata"]["thoughtsTokenCount"] = 50
    chunks = [*answer.chunks[:-1], f"data: {json.dumps(last)}\r\n\r\n".encode()]

    read = metered("google", chunks, "gemini-2.5-pro")

    usage = last["usageMetadata"]
    assert read.cache_read_tokens == usage["cachedContentTokenCount"] > 0
    assert read.input_tokens == usage["promptTokenCount"] - usage["cachedContentTokenCount"]
    assert read.output_tokens == usage["candidatesTokenCount"] + 50
    assert (read.text, read.tool_calls) == (["Done."], 1)


def test_refusals_are_in_each_vendor_s_error_shape():
    assert json.loads(OPENAI.refusal(400, "no"))["error"] == {"message": "no", "type": "invalid_request_error",
                                                               "code": "invalid_request_error"}
    assert json.loads(GOOGLE.refusal(400, "no"))["error"] == {"code": 400, "message": "no", "status": "INVALID_ARGUMENT"}


@pytest.mark.parametrize("vendor,input_name,secret,answer", [
    ("openai", "openai-api-key", "OPENAI_API_KEY", "401 Incorrect API key provided"),
    ("google", "gemini-api-key", "GEMINI_API_KEY", "400 API key not valid"),
])
def test_a_wrong_key_gets_the_fix_it_message_for_its_vendor(vendor, input_name, secret, answer):
    with ModelServer([], "/ws", api_key="the-right-key") as model:
        base = model.url + ("/v1" if vendor == "openai" else "")
        assert "accepted the key" in check_key(vendor, "the-right-key", base, input_name)
        with pytest.raises(ConfigError) as refused:
            check_key(vendor, "a-wrong-key", base, input_name)
    assert answer in str(refused.value) and f"secrets.{secret}" in str(refused.value)


def test_a_google_400_that_is_not_about_the_key_is_no_verdict():
    with ModelServer([], "/ws") as model:
        note = check_key("google", "key", model.url + "/nothing-here", "gemini-api-key")
    assert note.startswith("could not check the key")


def test_current_openai_models_are_priced_and_unknown_ones_at_the_dearest():
    assert price_of("openai", "gpt-5.5").output == 30.0 and price_of("openai", "gpt-5.4-mini").input == 0.75
    assert price_of("openai", "gpt-6-sol") == max((price for _, price in PRICES["openai"]), key=lambda p: p.output)
    assert cost_usd("google", "gemini-2.5-pro", input_tokens=1_000_000, output_tokens=0) == 1.25


def test_a_codex_code_mode_request_is_a_turn_of_the_agent_loop():
    code_mode = {"model": "gpt-6-sol", "input": [{"type": "additional_tools", "role": "developer", "tools": [
        {"type": "namespace", "name": "functions", "tools": [{"type": "custom", "name": "exec"}]}]}]}
    assert OPENAI.is_agent_turn(code_mode) and OPENAI.is_agent_turn({"tools": [{"name": "exec_command"}]})
    assert not OPENAI.is_agent_turn({"input": [{"type": "message", "role": "user", "content": "Title?"}]})


def test_a_dearer_variant_of_a_known_model_is_not_priced_as_that_model():
    dearest = max((price for _, price in PRICES["openai"]), key=lambda p: p.output)
    assert price_of("openai", "o3-pro").output == 80.0 and price_of("openai", "gpt-5-pro").output == 120.0
    for unknown in ("gpt-5.2-pro", "o3-deep-research", "gpt-5.5-turbo-max", "gpt-5.2"):  # not o3, gpt-5, gpt-5.5
        assert price_of("openai", unknown) == dearest, unknown
    assert price_of("openai", "o3-2025-04-16").output == 8.0  # a dated snapshot is the model
    assert price_of("anthropic", "claude-3-5-haiku-latest").output == 4.0
    assert price_of("google", "gemini-2.5-pro-preview-05-06").output == 10.0
    assert price_of("google", "gemini-3-pro-preview").output == 12.0  # not Gemini 2.5 Pro's
    assert price_of("anthropic", "claude-opus-4-0").output == 75.0  # Opus 4, not Opus 4.5
    assert price_of("openai", "gpt-5-codex").output == 10.0 and price_of("openai", "o3-mini").output == 4.4
