"""The gateway for real: a unix socket, the scripted model server as the upstream, loopback listeners.

What the sandbox would do is done here with plain HTTP over the socket: model calls with a
placeholder key, CONNECT and absolute-form proxy requests.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from bench.model.server import ModelServer
from tests.loopback import LoopbackSite
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream, pinned_hosts

REAL_KEY = "sk-ant-real-" + "x" * 20
PLACEHOLDER = "sk-ant-placeholder"
SCRIPT = [[{"type": "tool_use", "name": "Bash", "input": {"command": "ls"}}],
          [{"type": "text", "text": "All done: added word_count."}]]


class UnixConnection(http.client.HTTPConnection):
    """What the sandbox's forwarder does: HTTP over the gateway's socket."""

    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=10)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)  # blocking: with a timeout, a full listen backlog fails it at once (EAGAIN)
        self.sock.settimeout(10)
        if self._tunnel_host:
            self._tunnel()


@pytest.fixture
def model():
    with ModelServer(SCRIPT, "/github/workspace", api_key=REAL_KEY) as server:
        yield server


def start(tmp_path: Path, model: ModelServer, budget: float | None = None, policy: EgressPolicy | None = None,
          blocked: list | None = None) -> Gateway:
    gateway = Gateway(tmp_path / "gw" / "gateway.sock", Upstream(VENDORS["anthropic"], model.url, REAL_KEY),
                      policy or EgressPolicy(), Ledger(budget),
                      on_blocked=lambda host, why: (blocked if blocked is not None else []).append(host))
    gateway.start()
    return gateway


def messages_call(connection: http.client.HTTPConnection, tools: bool = True, stream: bool = True) -> tuple[int, str]:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": "add word_count"}]}
    if tools:
        body["tools"] = [{"name": "Bash", "input_schema": {"type": "object"}}]
    connection.request("POST", "/v1/messages?beta=true", body=json.dumps(body),
                       headers={"x-api-key": PLACEHOLDER, "content-type": "application/json",
                                "anthropic-version": "2023-06-01"})
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_a_model_call_reaches_the_upstream_with_the_real_key_and_is_metered(tmp_path, model):
    with start(tmp_path, model) as gateway:
        connection = UnixConnection(gateway.socket_path)
        first = messages_call(connection)
        second = messages_call(connection)  # the same connection, kept alive
        side = messages_call(connection, tools=False)

    assert [first[0], second[0], side[0]] == [200, 200, 200]
    assert "event: message_stop" in first[1] and "tool_use" in first[1]
    assert [r.headers.get("x-api-key") for r in model.requests] == [REAL_KEY] * 3
    assert not any(PLACEHOLDER in json.dumps(dict(r.headers)) for r in model.requests)
    usage = gateway.ledger.usage()
    assert (usage.requests, usage.turns) == (3, 2)
    assert usage.output_tokens > 0 and usage.cache_write_tokens > 0 and usage.cost_usd > 0
    assert usage.last_text == "All done: added word_count."


def test_a_non_streamed_answer_is_metered_too(tmp_path, model):
    with start(tmp_path, model) as gateway:
        status, body = messages_call(UnixConnection(gateway.socket_path), stream=False)
    assert status == 200 and json.loads(body)["type"] == "message"
    assert gateway.ledger.usage().turns == 1 and gateway.ledger.usage().cost_usd > 0


def test_once_the_budget_is_reached_model_calls_are_refused_and_the_ledger_says_so(tmp_path, model):
    with start(tmp_path, model, budget=1e-9) as gateway:
        connection = UnixConnection(gateway.socket_path)
        first = messages_call(connection)
        refused = messages_call(connection)

    assert first[0] == 200
    assert refused[0] == 400 and "budget" in json.loads(refused[1])["error"]["message"]
    assert len(model.requests) == 1
    assert gateway.ledger.usage().budget_reached


def test_paths_an_agent_does_not_need_are_not_passed_on_with_the_key(tmp_path, model):
    with start(tmp_path, model) as gateway:
        connection = UnixConnection(gateway.socket_path)
        connection.request("GET", "/v1/files", headers={"x-api-key": PLACEHOLDER})
        response = connection.getresponse()
        response.read()
    assert response.status == 404 and model.requests == []
    assert gateway.ledger.usage().refused_paths == ("GET /v1/files",)


def test_an_unreachable_upstream_is_a_502_in_the_vendor_s_shape(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    gateway = Gateway(tmp_path / "gateway.sock", Upstream(VENDORS["anthropic"], url, REAL_KEY), EgressPolicy(),
                      Ledger())
    with gateway:
        status, body = messages_call(UnixConnection(gateway.socket_path))
    assert status == 502 and "cannot reach the model API" in json.loads(body)["error"]["message"]


# -- egress --


@pytest.fixture
def listener():
    with LoopbackSite() as site:
        yield site


def proxy_get(gateway: Gateway, url: str) -> tuple[int, str]:
    connection = UnixConnection(gateway.socket_path)
    connection.request("GET", url)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_a_pinned_test_name_is_reached_and_everything_else_on_loopback_is_refused(tmp_path, model, listener):
    port = listener.port
    policy = EgressPolicy("registries", allowed_domains=("pypi.bench.test",),
                          pinned=pinned_hosts(f"pypi.bench.test=127.0.0.1:{port}"))
    blocked: list[str] = []
    with start(tmp_path, model, policy=policy, blocked=blocked) as gateway:
        allowed = proxy_get(gateway, f"http://pypi.bench.test:{port}/simple/")
        literal = proxy_get(gateway, f"http://127.0.0.1:{port}/steal")
        localhost = proxy_get(gateway, f"http://localhost:{port}/steal")
        metadata = proxy_get(gateway, "http://169.254.169.254/latest/meta-data/")

    assert allowed == (200, "simple index")
    assert [literal[0], localhost[0], metadata[0]] == [403, 403, 403]
    assert "IP addresses are not allowed" in literal[1] and "not in the allowlist" in localhost[1]
    assert listener.hits == ["/simple/"]
    assert dict(gateway.ledger.usage().blocked) == {"127.0.0.1": 1, "localhost": 1, "169.254.169.254": 1}
    assert blocked == ["127.0.0.1", "localhost", "169.254.169.254"]


def test_connect_tunnels_to_an_allowed_name_and_refuses_others_fast(tmp_path, model, listener):
    port = listener.port
    policy = EgressPolicy("registries", allowed_domains=("registry.bench.test",),
                          pinned=pinned_hosts(f"registry.bench.test=127.0.0.1:{port}"))
    with start(tmp_path, model, policy=policy) as gateway:
        refused = UnixConnection(gateway.socket_path)
        refused.set_tunnel("evil.example", 443)
        with pytest.raises(OSError, match="403"):
            refused.connect()
        tunnel = UnixConnection(gateway.socket_path)
        tunnel.set_tunnel("registry.bench.test", port)
        tunnel.request("GET", "/through-the-tunnel")
        response = tunnel.getresponse()
        assert (response.status, response.read()) == (200, b"simple index")
    assert listener.hits == ["/through-the-tunnel"]
    assert dict(gateway.ledger.usage().blocked) == {"evil.example": 1}


def test_names_resolving_to_private_addresses_are_refused_even_when_allowed():
    policy = EgressPolicy("open", resolve=lambda host, port: ["10.0.0.7"])
    with pytest.raises(Exception, match="non-public address"):
        policy.destination("internal.example.com", 443)
    public = EgressPolicy("registries", resolve=lambda host, port: ["151.101.0.223"])
    assert public.destination("pypi.org", 443) == ("151.101.0.223", 443)
    with pytest.raises(Exception, match="not in the allowlist"):
        public.destination("evil.example", 443)
    with pytest.raises(Exception, match="only ports 80 and 443"):
        public.destination("pypi.org", 22)


def test_a_pinned_name_still_needs_the_policy_to_allow_it():
    pinned = pinned_hosts("pypi.bench.test=127.0.0.1:9")
    with pytest.raises(Exception, match="not in the allowlist"):
        EgressPolicy("none", allowed_domains=("pypi.bench.test",), pinned=pinned).destination("pypi.bench.test", 9)
    with pytest.raises(Exception, match="not in the allowlist"):
        EgressPolicy("registries", pinned=pinned).destination("pypi.bench.test", 9)


def test_wildcards_in_allowed_domains_match_subdomains_only():
    policy = EgressPolicy("none", allowed_domains=("*.example.com",))
    assert not policy.allows_name("pkg.example.com")  # `none` allows nothing, whatever the list
    policy = EgressPolicy("registries", allowed_domains=("*.example.com",))
    assert policy.allows_name("pkg.example.com") and policy.allows_name("a.b.example.com")
    assert not policy.allows_name("example.com.evil.test") and not policy.allows_name("badexample.com")
