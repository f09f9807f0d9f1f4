"""One redaction step for everything the action posts or pushes that carries the agent's words.

The PR body, comments, replies, commit messages, the step summary and the log all pass
through `Redactor`: the exact values of every secret the action holds (also base64-encoded,
as git's Basic auth header carries the token), and the well-known shapes of credentials an
agent could find in a repository (a `.env`) and repeat. The patterns follow
claude-code-action's redaction (its test cases run against this module too).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

from codeagent.text import printable

PATTERNS = (
    # GitHub: personal, OAuth, user-to-server, installation (workflow) and refresh tokens; fine-grained PATs.
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}\b"), "[REDACTED_GITHUB_TOKEN]"),
    (re.compile(r"github_pat_[A-Za-z0-9_]{11,221}\b"), "[REDACTED_GITHUB_TOKEN]"),
    # Anthropic (API keys and OAuth tokens), OpenAI (project, service and legacy keys).
    (re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"), "[REDACTED_ANTHROPIC_KEY]"),
    (re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"), "[REDACTED_OPENAI_KEY]"),
    # Google API keys (Gemini).
    (re.compile(r"AIza[0-9A-Za-z_-]{35}"), "[REDACTED_GOOGLE_KEY]"),
    # AWS access key ids: after a word boundary, a JSON escape or an ANSI colour code.
    (re.compile(r"(\\(?:[nrtbf\"\\/]|u[0-9a-fA-F]{4})|\[[0-9;]*m|\b)(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
     r"\1[REDACTED_AWS_KEY_ID]"),
    (re.compile(r"xox[abpsr]-[A-Za-z0-9-]{10,}"), "[REDACTED_SLACK_TOKEN]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{10,2000}\.eyJ[A-Za-z0-9_-]{10,4000}\.[A-Za-z0-9_-]{10,2000}\b"), "[REDACTED_JWT]"),
)
"""Shapes of credentials, and what each becomes."""

REDACTED = "[REDACTED]"


class Redactor:
    """Replaces ``secrets`` (and the patterns) in text; immutable once built."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(secrets)
        values: set[str] = set()
        for secret in self._secrets:
            if len(secret) >= 8:
                values.add(secret)
                values.add(base64.b64encode(f"x-access-token:{secret}".encode()).decode())
                values.add(base64.b64encode(secret.encode()).decode().rstrip("="))
        # Longest first, so a secret that contains another is replaced whole.
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = printable(text)
        for value in self._values:
            text = text.replace(value, REDACTED)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A redactor that also knows ``secrets``."""
        return Redactor([*self._secrets, *secrets])
