"""The gateway in front of the OpenAI and Gemini APIs: the real key put on, the limits kept.

Model calls go over the gateway's unix socket as the sandbox's forwarder sends them, with a
placeholder key; the scripted model (bench/model/) is the upstream and takes only the real key.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from bench.model.server import ModelServer
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream
from codeagent.gateway.ledger import LimitReached
from codeagent.gateway.server import TURNS_REFUSAL
from tests.unit.test_gateway import UnixConnection

REAL_KEY = "real-key-" + "r" * 24
TEXT = [[{"type": "text", "text": "Working."}]] * 3
CALLS = {
    "openai": ("/v1/responses", lambda tools: {"model": "gpt-5.5", "stream": True, "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}],
        **({"tools": [{"type": "function", "name": "exec_command"}]} if tools else {})},
        {"authorization": "Bearer sk-codeagent-placeholder"}),
    "google": ("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", lambda tools: {
        "contents": [{"role": "user", "parts": [{"text": "go"}]}],
        **({"tools": [{"functionDeclarations": [{"name": "run_shell_command"}]}]} if tools else {})},
        {"x-goog-api-key": "codeagent-placeholder"}),
}


def call(gateway: Gateway, vendor: str, tools: bool = True) -> tuple[int, str]:
    path, body, headers = CALLS[vendor]
    connection = UnixConnection(gateway.socket_path)
    connection.request("POST", path.removeprefix("/v1") if vendor == "openai" else path, body=json.dumps(body(tools)),
                       headers={"content-type": "application/json", **headers})
    response = connection.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("vendor", ["openai", "google"])
def test_the_real_key_reaches_the_upstream_and_turns_past_max_turns_are_refused_in_its_shape(tmp_path, vendor):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        base = model.url + ("/v1" if vendor == "openai" else "")
        with Gateway(tmp_path / "gw.sock", Upstream(VENDORS[vendor], base, REAL_KEY), EgressPolicy(),
                     Ledger(max_turns=2)) as gateway:
            answered = [call(gateway, vendor)[0] for _ in range(2)]
            status, refused = call(gateway, vendor)
            side_status, _ = call(gateway, vendor, tools=False)

    assert answered == [200, 200] and side_status == 200
    assert status == 400 and json.loads(refused)["error"]["message"] == TURNS_REFUSAL
    assert model.request_count() == 3 and gateway.ledger.usage().turns == 2
    assert not model.leaked_secrets() and all("placeholder" not in json.dumps(dict(r.headers)) for r in model.requests)


def test_turns_in_flight_count_against_max_turns():
    """A turn is taken when it is sent, not when its answer ends: a CLI that asks again before the
    gateway has counted the last answer (or asks twice at once) cannot pass the limit."""
    ledger = Ledger(max_turns=2)

    first, second = ledger.admit(True, 0.0), ledger.admit(True, 0.0)
    with pytest.raises(LimitReached, match="max-turns"):
        ledger.admit(True, 0.0)
    ledger.release(second)  # it ended without an answer (the upstream was out of reach)

    assert ledger.admit(True, 0.0)
    with pytest.raises(LimitReached, match="max-turns"):
        ledger.admit(True, 0.0)
    assert ledger.usage().turns == 0 and first  # nothing answered yet: taking is not counting


def test_an_answer_the_cli_hung_up_on_is_counted_all_the_same(tmp_path):
    """A CLI may close the connection once it has the answer's last event, before the stream's end:
    the model billed the call, so the ledger counts its turn and tokens (it once missed them)."""
    path, body, headers = CALLS["openai"]
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with Gateway(tmp_path / "gw.sock", Upstream(VENDORS["openai"], model.url + "/v1", REAL_KEY), EgressPolicy(),
                     Ledger(max_turns=1)) as gateway:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(gateway.socket_path))
            payload = json.dumps(body(True)).encode()
            sock.sendall(b"POST /responses HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                         b"Authorization: Bearer sk-codeagent-placeholder\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
            sock.recv(64)  # the status line has come: the answer is on its way
            sock.close()
            deadline = time.monotonic() + 10
            while gateway.ledger.usage().requests == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            status, _ = call(gateway, "openai")

    usage = gateway.ledger.usage()
    assert (usage.requests, usage.turns) == (1, 1) and usage.output_tokens > 0
    assert status == 400 and model.request_count() == 1  # max-turns 1: the next turn is refused
