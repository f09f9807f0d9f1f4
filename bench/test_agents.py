"""What the bench passes each agent: its key and base URL inputs, the credential the model takes, the secrets."""

from bench.agents import wire_agent

URL = "http://127.0.0.1:4000"


def test_each_agent_gets_its_own_key_and_base_url_input():
    claude, codex, gemini = (wire_agent(inputs, URL, "abc") for inputs in ({}, {"agent": "codex"}, {"agent": "gemini"}))

    assert claude.inputs == {"anthropic-api-key": "sk-ant-bench-abc", "anthropic-base-url": URL}
    assert codex.inputs == {"openai-api-key": "sk-bench-abc", "openai-base-url": URL + "/v1", "agent": "codex"}
    assert gemini.inputs == {"gemini-api-key": "AIza-bench-abc", "gemini-base-url": URL, "agent": "gemini"}
    assert (codex.key, codex.oauth, codex.secrets) == ("sk-bench-abc", False, {"OPENAI_API_KEY": "sk-bench-abc"})


def test_a_wrong_key_in_the_scenario_is_passed_and_the_model_still_expects_the_bench_s():
    wiring = wire_agent({"agent": "gemini", "gemini-api-key": "wrong"}, URL, "abc")
    assert wiring.inputs["gemini-api-key"] == "wrong" and wiring.key == "AIza-bench-abc"
    assert wiring.secrets == {"GEMINI_API_KEY": "wrong"}


def test_a_subscription_token_instead_of_the_api_key_is_what_the_model_takes():
    wiring = wire_agent({"anthropic-api-key": "", "claude-code-oauth-token": "sk-ant-oat01-x"}, URL, "abc")
    assert (wiring.key, wiring.oauth) == ("sk-ant-oat01-x", True)
    assert wiring.secrets == {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x"}
