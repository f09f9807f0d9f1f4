"""What the gateway admits: model calls reserve their worst cost (input, and output up to its limit)
against the budget and a share of the limit on all model calls before they go; bodies past the APIs'
size limit and requests past the gateway's concurrency are not taken in.

Refusals come in the vendor's own error shape, so each agent CLI reports the gateway's words.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from bench.model.server import Fault, ModelServer
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream
from codeagent.gateway.ledger import BUDGET_REFUSAL, LimitReached, Reservation, max_calls
from codeagent.gateway.model_calls import MAX_REQUEST_BYTES
from codeagent.gateway.prices import PRICES
from codeagent.gateway.server import MAX_CONCURRENT_REQUESTS
from codeagent.gateway.vendors import ANTHROPIC, GOOGLE, Metered
from tests.unit.test_gateway_limits import CALLS, REAL_KEY, TEXT, UnixConnection, call

OPUS_INPUT_PER_TOKEN = 15.0 / 1_000_000
OPUS_OUTPUT_PER_TOKEN = 75.0 / 1_000_000


def anthropic_call(gateway: Gateway, prompt_bytes: int, tools: bool = True) -> tuple[int, dict]:
    body = {"model": "claude-opus-4-1-20250805", "max_tokens": 32000, "stream": True,
            "messages": [{"role": "user", "content": "x" * prompt_bytes}],
            **({"tools": [{"name": "t", "input_schema": {"type": "object"}}]} if tools else {})}
    connection = UnixConnection(gateway.socket_path)
    connection.timeout = 60
    connection.request("POST", "/v1/messages", body=json.dumps(body),
                       headers={"content-type": "application/json", "x-api-key": "placeholder"})
    response = connection.getresponse()
    text = response.read().decode()
    return response.status, json.loads(text) if response.status != 200 else {}


def gateway_for(model: ModelServer, tmp_path, vendor: str = "anthropic", **ledger) -> Gateway:
    base = model.url + ("/v1" if vendor == "openai" else "")
    return Gateway(tmp_path / "gw.sock", Upstream(VENDORS[vendor], base, REAL_KEY), EgressPolicy(), Ledger(**ledger))


# -- the budget --


def test_calls_in_flight_hold_their_worst_cost_against_the_budget_until_their_answer_settles_it():
    ledger = Ledger(budget_usd=1.0)

    first, _ = ledger.admit(False, 0.4), ledger.admit(False, 0.4)
    with pytest.raises(LimitReached, match="max-cost-usd"):
        ledger.admit(False, 0.4)  # 0.4 + 0.4 + 0.4 would pass 1.0
    ledger.record(Metered(model="claude-sonnet-4-5", input_tokens=1000), 0.05, first, billed=True)

    assert ledger.admit(False, 0.4)  # spent 0.05, held 0.4: 0.85 with this one
    assert ledger.usage().budget_reached and ledger.usage().cost_usd == 0.05


USED = Metered(model="claude-sonnet-4-5", input_tokens=1000, output_tokens=100)
"""An answer whose usage the meter read (its cost is given beside it)."""


def test_an_answer_whose_usage_could_not_be_read_costs_its_worst_case():
    ledger = Ledger(budget_usd=10.0)
    ledger.record(Metered(model="gpt-5.5"), 0.0, ledger.admit(True, 6.25), billed=True)  # usage event past 4 MB
    assert ledger.usage().cost_usd == 6.25
    ledger.record(Metered(error="overloaded"), 0.0, ledger.admit(True, 6.25), billed=False)  # refused: not billed
    assert ledger.usage().cost_usd == 6.25


def test_a_call_alone_goes_while_the_budget_is_not_reached_and_one_beside_others_only_within_it():
    """An honest run makes one call at a time: each goes until the budget is reached (the last may pass it
    by what it costs). Beside calls in flight, a call's worst case must fit with theirs."""
    ledger = Ledger(budget_usd=0.5)
    dear = ledger.admit(True, 0.6)  # alone: a budget below one call's worst case still lets a run start
    with pytest.raises(LimitReached):
        ledger.admit(False, 0.0)  # beside it: 0.6 is held
    ledger.record(USED, 0.1, dear, billed=True)  # its answer came to less than its worst case
    alone = ledger.admit(True, 0.6)  # alone again: 0.1 spent is under 0.5, whatever it may cost
    with pytest.raises(LimitReached):
        ledger.admit(True, 0.01)  # beside it: 0.1 + 0.6 + 0.01 would pass 0.5
    ledger.record(USED, 0.3, alone, billed=True)
    beside = ledger.admit(True, 0.05)
    assert ledger.admit(True, 0.05)  # 0.4 spent, 0.05 held: 0.5 with this one
    ledger.record(USED, 0.2, beside, billed=True)
    with pytest.raises(LimitReached):
        ledger.admit(False, 0.0)  # 0.6 spent: the budget is reached, alone or not
    assert ledger.usage().budget_reached


def test_the_worst_cost_is_the_body_in_tokens_at_the_input_price_and_the_output_limit_at_the_output_price():
    known = ANTHROPIC.describe("/v1/messages", {"model": "claude-opus-4-1-20250805", "max_tokens": 32000}, 4_000_000)
    unknown = ANTHROPIC.describe("/v1/messages", {"model": "claude-next", "max_tokens": 1000}, 4_000_000)
    nameless = GOOGLE.describe("/v1beta/models:streamGenerateContent", {}, 4_000_000)

    opus = 1_000_000 * OPUS_INPUT_PER_TOKEN + 32000 * OPUS_OUTPUT_PER_TOKEN
    assert ANTHROPIC.worst_cost(known) == pytest.approx(opus)
    dearest = max((price for _, price in PRICES["anthropic"]), key=lambda price: price.output)
    assert ANTHROPIC.worst_cost(unknown) == pytest.approx(dearest.input + 1000 * dearest.output / 1_000_000)
    dearest = max((price for _, price in PRICES["google"]), key=lambda price: price.output)
    assert GOOGLE.worst_cost(nameless) == pytest.approx(dearest.input + 65_536 * dearest.output / 1_000_000)


@pytest.mark.parametrize("vendor,body,tokens", [
    ("anthropic", {"max_tokens": 32000}, 32000),
    ("openai", {"max_output_tokens": 5000}, 5000), ("openai", {}, 128_000),
    ("google", {"generationConfig": {"maxOutputTokens": 2048}}, 2048), ("google", {}, 65_536),
    ("google", {"generationConfig": {"maxOutputTokens": "2048", "candidateCount": 8}}, 8 * 2048),
    ("google", {"generation_config": {"max_output_tokens": 4096, "candidate_count": 2.0}}, 2 * 4096),
])
def test_the_output_limit_is_each_apis_own_field_or_its_models_largest(vendor, body, tokens):
    assert VENDORS[vendor].describe("/", body, 0).max_output_tokens == tokens


def test_small_parallel_calls_cannot_pass_the_budget_with_their_output(tmp_path):
    """8 calls of a few hundred bytes, each allowed 32,000 output tokens on the dearest model ($2.40 each):
    with a budget of $5, one alone and one beside it go, not the other six (before: all 8, up to $19)."""
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        model.faults.append(Fault(delay=1.0, times=8))
        with gateway_for(model, tmp_path, budget_usd=5.0) as gateway:
            results: list[tuple[int, dict]] = []
            threads = [threading.Thread(target=lambda: results.append(anthropic_call(gateway, 100)))
                       for _ in range(8)]
            [thread.start() for thread in threads]
            [thread.join() for thread in threads]

    assert sorted(status for status, _ in results) == [200] * 2 + [400] * 6 and model.request_count() == 2


def test_parallel_calls_cannot_pass_the_budget_together(tmp_path):
    """20 calls at once, each with a 400 kB prompt on the dearest model (~$1.50 of input) allowed 32,000
    output tokens ($2.40), each answered after a second: with a budget of $8, two go ($7.80 held with the
    second), the rest are refused; what the model billed stays within the budget."""
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        model.faults.append(Fault(delay=1.0, times=20))
        with gateway_for(model, tmp_path, budget_usd=8.0) as gateway:
            results: list[tuple[int, dict]] = []
            threads = [threading.Thread(target=lambda: results.append(anthropic_call(gateway, 400_000)))
                       for _ in range(20)]
            [thread.start() for thread in threads]
            [thread.join() for thread in threads]

    statuses = sorted(status for status, _ in results)
    refusals = [body for status, body in results if status == 400]
    assert statuses.count(200) == model.request_count() == 2 and len(refusals) == 18
    assert all(body["error"] == {"type": "invalid_request_error", "message": BUDGET_REFUSAL} for body in refusals)
    assert model.billed()["cost_usd"] <= 8.0 and gateway.ledger.usage().budget_reached


# -- all model calls, side calls included --


@pytest.mark.parametrize("vendor", ["anthropic", "openai", "google"])
def test_model_calls_without_tools_count_against_a_limit_and_are_refused_past_it_in_the_vendor_shape(tmp_path,
                                                                                                     vendor):
    limit = max_calls(2)
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway_for(model, tmp_path, vendor, max_turns=2) as gateway:
            statuses = [side_call(gateway, vendor)[0] for _ in range(limit + 3)]
            _, refused = side_call(gateway, vendor)

    assert statuses == [200] * limit + [400] * 3 and model.request_count() == limit
    message = refused["error"]["message"]
    assert "limit on model calls" in message and "max-turns 2" in message
    assert gateway.ledger.usage().calls_limit_reached and gateway.ledger.usage().turns == 0


def side_call(gateway: Gateway, vendor: str) -> tuple[int, dict]:
    if vendor != "anthropic":
        status, text = call(gateway, vendor, tools=False)
        return status, json.loads(text) if status != 200 else {}
    return anthropic_call(gateway, 100, tools=False)


def test_answers_the_upstream_refused_do_not_count_against_the_limit_on_calls():
    """A 429 or a 529 the CLI retries was not billed; the limit would otherwise stop an honest run."""
    ledger = Ledger(max_turns=1)
    for _ in range(10):
        ledger.record(Metered(error="overloaded"), 0.0, ledger.admit(False, 0.0), billed=False)
    for _ in range(max_calls(1)):
        ledger.record(Metered(), 0.0, ledger.admit(False, 0.0), billed=True)
    with pytest.raises(LimitReached):
        ledger.admit(True, 0.0)


def test_a_released_reservation_gives_its_cost_back_exactly():
    held = Reservation() + Reservation(1, 1, 0.1) + Reservation(1, 0, 0.2)
    assert held - Reservation(1, 1, 0.1) - Reservation(1, 0, 0.2) == Reservation()


# -- the gateway's memory: bodies and requests at once --


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_apis_limit_is_refused_with_413_in_the_vendor_shape_before_it_is_read(tmp_path, chunked):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway_for(model, tmp_path) as gateway:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            sock.connect(str(gateway.socket_path))
            length = b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_REQUEST_BYTES + 1) if chunked else (
                b"Content-Length: %d\r\n\r\n" % (60 * 2**20))
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + length
                         + b"{" * 65536)  # 64 kB of the body, no more: the answer must not wait for the rest
            answer = _read_answer(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
    assert json.loads(body)["error"]["type"] == "request_too_large"
    assert model.request_count() == 0


def _read_answer(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_a_body_of_more_json_values_than_any_context_is_refused_before_it_is_parsed(tmp_path):
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        with gateway_for(model, tmp_path, "openai") as gateway:
            path, _, headers = CALLS["openai"]
            connection = UnixConnection(gateway.socket_path)
            connection.request("POST", path.removeprefix("/v1"), body=b"[" + b"[]," * 1_100_000 + b"[]]",
                               headers=headers)
            response = connection.getresponse()
            body = json.loads(response.read())
    assert response.status == 413 and "JSON values" in body["error"]["message"] and model.request_count() == 0


def test_requests_past_the_concurrency_bound_wait_for_a_slot(tmp_path):
    """12 calls at once, each answered after a second, with 8 slots: two rounds, every call answered."""
    with ModelServer(TEXT, "/ws", api_key=REAL_KEY) as model:
        model.faults.append(Fault(delay=1.0, times=12))
        with gateway_for(model, tmp_path) as gateway:
            statuses: list[int] = []
            threads = [threading.Thread(target=lambda: statuses.append(anthropic_call(gateway, 100)[0]))
                       for _ in range(MAX_CONCURRENT_REQUESTS + 4)]
            started = time.monotonic()
            [thread.start() for thread in threads]
            [thread.join() for thread in threads]
            elapsed = time.monotonic() - started

    assert statuses == [200] * (MAX_CONCURRENT_REQUESTS + 4) and 1.9 < elapsed < 10


def test_the_usage_of_an_answer_event_too_long_to_hold_is_read_from_its_end():
    """OpenAI's response.completed echoes the request's instructions before its usage: 5 MB of them."""
    from codeagent.gateway.vendors import MAX_EVENT_BYTES, Meter
    response = {"id": "resp_1", "object": "response", "status": "completed", "instructions": "x" * MAX_EVENT_BYTES,
                "model": "gpt-5.5", "output": [], "usage": {"input_tokens": 1_250_000, "output_tokens": 10,
                                                            "input_tokens_details": {"cached_tokens": 0}}}
    event = json.dumps({"type": "response.completed", "response": response}).encode()
    for chunks in ([b"data: " + event + b"\n\n"], [b"data: " + event[:1000], event[1000:] + b"\n", b"\n"]):
        meter = Meter("openai", "gpt-5.5")
        for chunk in chunks:
            meter.feed(chunk)
        assert (meter.finish().input_tokens, meter.metered.output_tokens) == (1_250_000, 10)
    whole = Meter("openai", "gpt-5.5")  # not streamed: one JSON document
    whole.feed(json.dumps(response).encode())
    assert whole.finish().input_tokens == 1_250_000
