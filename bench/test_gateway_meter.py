"""The gateway's meter against the real streams of each API, read by the real CLIs.

Each CLI runs on this machine with the gateway in front of the scripted model, as in the sandbox:
the CLI's base URL is a loopback port that a small bridge (the forwarder's stand-in) passes to the
gateway's unix socket. What the gateway counted must be what the model answered (its billing) and
what the CLI itself added up from the same streams; past the budget, the gateway's refusal stops
the CLI at once.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from bench.cli import run_agent
from bench.model.server import ModelServer
from codeagent.agent import CLIS
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream

ROOT = Path(__file__).resolve().parents[1]
KEY = "real-key-" + "k" * 24
pytestmark = [pytest.mark.cli, pytest.mark.timeout(180)]


class Bridge:
    """A loopback TCP port whose connections go to a unix socket (what the sandbox's forwarder does)."""

    def __init__(self, socket_path: Path) -> None:
        self._path = str(socket_path)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self._path)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run_through_gateway(agent: str, tmp_path: Path, budget: float | None = None, max_turns: int | None = None):
    """The add-word-count script, by the real CLI, through the gateway: (ledger's usage, model server, stdout)."""
    scenario = yaml.safe_load((ROOT / "scenarios" / f"{agent}-add-word-count" / "scenario.yaml").read_text())
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "scenarios" / "add-word-count" / "repo", workspace)
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (tmp_path / "home").mkdir()
    vendor = VENDORS[CLIS[agent].vendor]
    with ModelServer(scenario["model"], str(workspace), api_key=KEY) as model:
        base = model.url + ("/v1" if vendor.name == "openai" else "")
        gateway = Gateway(tmp_path / "gw" / "gateway.sock", Upstream(vendor, base, KEY), EgressPolicy(),
                          Ledger(budget, max_turns=max_turns))
        with gateway:
            bridge = Bridge(gateway.socket_path)
            try:
                done = run_agent(agent, "Add word_count.", bridge.url, workspace, tmp_path / "home")
            finally:
                bridge.close()
    return gateway.ledger.usage(), model, done


def cli_totals(agent: str, stdout: str) -> dict[str, int]:
    """The tokens the CLI added up itself: Codex's turn.completed usage, Gemini CLI's result stats."""
    last = json.loads(stdout.strip().splitlines()[-1])
    if agent == "codex":
        usage = last["usage"]
        return {"input": usage["input_tokens"], "cached": usage["cached_input_tokens"],
                "output": usage["output_tokens"]}
    stats = last["stats"]
    return {"input": stats["input_tokens"], "cached": stats["cached"], "output": stats["output_tokens"]}


@pytest.mark.parametrize("agent", ["codex", "gemini"])
def test_the_gateway_counts_what_the_model_billed_and_the_cli_added_up(tmp_path, agent):
    usage, model, done = run_through_gateway(agent, tmp_path)

    assert done.returncode == 0, done.stderr
    billed = model.billed()
    assert (usage.turns, usage.requests) == (billed["turns"], model.request_count())
    assert usage.cost_usd == pytest.approx(billed["cost_usd"])
    assert cli_totals(agent, done.stdout) == {"input": usage.input_tokens + usage.cache_read_tokens,
                                              "cached": usage.cache_read_tokens, "output": usage.output_tokens}
    assert usage.last_text.startswith("Added `word_count(text)`")
    assert model.leaked_secrets() == [] and KEY not in done.stdout


@pytest.mark.parametrize("agent", ["codex", "gemini"])
def test_past_the_budget_the_gateway_s_refusal_stops_the_cli_at_once(tmp_path, agent):
    usage, model, done = run_through_gateway(agent, tmp_path, budget=1e-9)

    assert done.returncode != 0
    assert usage.budget_reached and usage.turns == 1 and model.request_count() == 1
    transcript = CLIS[agent]().transcript("")
    for line in done.stdout.splitlines():
        transcript.feed(line)
    assert "budget (max-cost-usd) is reached" in transcript.result().error


def test_codex_which_has_no_turn_limit_of_its_own_is_held_to_max_turns_by_the_gateway(tmp_path):
    usage, model, done = run_through_gateway("codex", tmp_path, max_turns=2)

    assert done.returncode != 0 and usage.turns == 2 and model.request_count() == 2
    transcript = CLIS["codex"]().transcript("")
    for line in done.stdout.splitlines():
        transcript.feed(line)
    assert "the turn limit (max-turns) is reached" in transcript.result().error
