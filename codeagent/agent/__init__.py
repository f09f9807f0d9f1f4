"""The coding agents the action can run in the sandbox: one module per CLI, one `AgentCli` interface."""

from codeagent.agent.base import AgentCli
from codeagent.agent.claude import ClaudeCli

CLIS: dict[str, type[AgentCli]] = {"claude": ClaudeCli}
"""The `agent` input's values, and the CLI each runs."""

__all__ = ["CLIS", "AgentCli", "ClaudeCli"]
