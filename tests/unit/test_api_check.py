"""The Anthropic key is checked against a real HTTP server before any branch is created."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codeagent.agent.api_check import check_api_key
from codeagent.errors import ConfigError


@pytest.fixture
def api():
    """A loopback server: GET /v1/models answers 200 for key `good`, 401 otherwise; other paths 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.startswith("/v1/models"):
                self.send_response(404)
            elif self.headers.get("x-api-key") == "good":
                self.send_response(200)
            else:
                body = b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
                self.send_response(401)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_refused_key_is_a_clear_configuration_error(api):
    with pytest.raises(ConfigError) as error:
        check_api_key("wrong", api)
    message = str(error.value)
    assert "`anthropic-api-key`" in message and "refused the key (401 invalid x-api-key)" in message
    assert "ANTHROPIC_API_KEY" in message and "wrong" not in message


def test_an_accepted_key_goes_on(api):
    assert "accepted" in check_api_key("good", api)


def test_no_verdict_without_the_endpoint_or_the_server(api):
    assert "going on" in check_api_key("good", api + "/gateway")  # 404: a gateway without /v1/models
    assert "going on" in check_api_key("good", "http://127.0.0.1:9", timeout_s=2)  # nothing listens
