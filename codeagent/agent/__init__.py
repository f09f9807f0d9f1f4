"""The coding agents the action can run in the sandbox: one module per CLI, one `AgentCli` interface."""

from codeagent.agent.base import AgentCli
from codeagent.agent.claude import ClaudeCli
from codeagent.agent.codex import CodexCli
from codeagent.agent.gemini import GeminiCli

CLIS: dict[str, type[AgentCli]] = {"claude": ClaudeCli, "codex": CodexCli, "gemini": GeminiCli}
"""The `agent` input's values, and the CLI each runs."""

__all__ = ["CLIS", "AgentCli", "ClaudeCli", "CodexCli", "GeminiCli"]
