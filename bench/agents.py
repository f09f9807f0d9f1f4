"""What the bench gives the agent a scenario selects (``inputs: {agent: codex}``): the inputs that
point it at the scripted model, the key the model expects, and the secrets to look for.

The bench draws a new key for each scenario and passes it as the agent's key input, with the
scripted model's address as its base URL input; a scenario's own ``inputs`` go over both (a
wrong key, or ``anthropic-api-key: ""`` with a ``claude-code-oauth-token`` instead). Every secret
input given, whatever its value, is looked for by the leak detector.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchAgent:
    """How the bench wires one agent to the scripted model."""

    key_input: str
    url_input: str
    url_path: str
    """What the base URL input needs after the server's address: the path the vendor's own
    base URL ends with (OpenAI's is ``https://api.openai.com/v1``), which the gateway puts in front
    of the CLI's request path."""
    key_prefix: str


AGENTS = {
    "claude": BenchAgent("anthropic-api-key", "anthropic-base-url", "", "sk-ant-bench-"),
    "codex": BenchAgent("openai-api-key", "openai-base-url", "/v1", "sk-bench-"),
    "gemini": BenchAgent("gemini-api-key", "gemini-base-url", "", "AIza-bench-"),
}
SECRET_INPUTS = {"anthropic-api-key": "ANTHROPIC_API_KEY", "claude-code-oauth-token": "CLAUDE_CODE_OAUTH_TOKEN",
                 "openai-api-key": "OPENAI_API_KEY", "gemini-api-key": "GEMINI_API_KEY"}
"""The action's secret inputs, by the name the leak report gives them."""
OAUTH_INPUT = "claude-code-oauth-token"


@dataclass(frozen=True)
class ModelWiring:
    """One run's inputs for the model, and the credential the scripted model accepts."""

    inputs: dict[str, str]
    key: str
    oauth: bool
    """``key`` is a Claude subscription token (a bearer token with the OAuth beta)."""
    secrets: dict[str, str]


def wire_agent(scenario_inputs: dict[str, str], model_url: str, secret: str) -> ModelWiring:
    """The inputs for a run of ``scenario_inputs``' agent against the model at ``model_url``.

    ``secret`` is the random part of the key the bench draws for the scenario."""
    agent = AGENTS[scenario_inputs.get("agent") or "claude"]
    key = agent.key_prefix + secret
    inputs = {agent.key_input: key, agent.url_input: model_url + agent.url_path, **scenario_inputs}
    oauth = agent.key_input == "anthropic-api-key" and not inputs[agent.key_input] and bool(inputs.get(OAUTH_INPUT))
    secrets = {name: inputs[field] for field, name in SECRET_INPUTS.items() if inputs.get(field)}
    return ModelWiring(inputs, inputs[OAUTH_INPUT] if oauth else key, oauth, secrets)
