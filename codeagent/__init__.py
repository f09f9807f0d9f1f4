"""codeagent: turn a `/code` comment on an issue into a pull request written by Claude Code."""
