"""Coding agents the action can run in the sandbox (today: the Claude Code CLI)."""
