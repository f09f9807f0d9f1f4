"""Running git: hardened, without prompts, with errors that say what to do.

Every git command the action runs sees only the environment and configuration given here:
no system or global config file (nothing a runner or an earlier step left there), no hooks,
no fsmonitor, no signing, none of the action's own environment (it holds the secrets), and
the token only through the environment of the commands that talk to the server (never on
the command line, where ``ps`` shows it).

git is run with `subprocess` here rather than through GitPython: GitPython copies the whole
environment of the parent into every git process, and the action's holds the workflow token
and the model keys; it also cannot run a command as the checkout's owner.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import GitError

HARDENING = {"core.hooksPath": "/dev/null", "core.fsmonitor": "false", "commit.gpgSign": "false",
             "tag.gpgSign": "false", "core.quotePath": "false", "transfer.fsckObjects": "true"}
"""Config every command sees, as command-line scope (GIT_CONFIG_COUNT), above the repository's own."""

NO_PUSH = "the workflow token may not push: give the job `permissions: contents: write`"
HINTS = (
    ("not a git repository", "run actions/checkout before this action"),
    ("would be overwritten", "an earlier step left uncommitted changes that conflict; commit or discard them "
                             "in that step"),
    ("`workflows` permission", "the workflow token cannot push changes under .github/workflows/; leave them "
                               "out of the commit"),
    ("protected branch", "the branch is protected on GitHub; exempt the codeagent/ branches from the "
                         "protection rule"),
    ("denied to", NO_PUSH),
    ("returned error: 403", NO_PUSH),
    ("returned error: 401", "the token was refused: pass the workflow's GITHUB_TOKEN as `github-token`"),
    ("could not read Username", "the token was missing or refused: pass the workflow's GITHUB_TOKEN as "
                                "`github-token`"),
    ("Repository not found", "the token cannot see the repository: give the job `permissions: contents: write`"),
    ("Could not resolve host", "the runner cannot reach the git server: check GITHUB_SERVER_URL and the "
                               "runner's network"),
)
"""Fragments of git's error output, and what the user can do about each."""
DEFAULT_HINT = "re-run the job; if it fails again, report it with git's message above"


@dataclass(frozen=True)
class Identity:
    """Author and committer of every commit the action makes."""

    name: str
    email: str


def auth_header(token: str) -> str:
    """The header actions/checkout sends: Basic with the token as the password."""
    return "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class Git:
    """git in one directory, with a fixed environment; ``user`` runs it as that ``(uid, gid)``."""

    def __init__(self, cwd: Path, *, config: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
                 secrets: tuple[str, ...] = (), user: tuple[int, int] | None = None) -> None:
        self.cwd = Path(cwd)
        self._extra = dict(env or {})
        self._env = _environment({**HARDENING, **(config or {})}, self._extra)
        self._secrets = tuple(s for s in secrets if s)
        self._user = user

    def run(self, *args: str, stdin: str | bytes | None = None, config: Mapping[str, str] | None = None,
            ) -> tuple[int, str, str]:
        """Run ``git args``: exit status, stdout and stderr (``config`` adds to this call only)."""
        env = self._env if not config else _environment({**self._config(), **config}, self._extra)
        data = stdin.encode("utf-8", "surrogateescape") if isinstance(stdin, str) else stdin
        user, group = self._user or (None, None)
        result = subprocess.run(["git", *args], cwd=self.cwd, env=env, input=data, capture_output=True, user=user,
                                group=group, extra_groups=[] if self._user else None)
        # surrogateescape: a path whose bytes are not UTF-8 comes back to git exactly as it was.
        strip = lambda raw: raw.decode("utf-8", errors="surrogateescape").rstrip("\n")  # noqa: E731
        return result.returncode, strip(result.stdout), strip(result.stderr)

    def check(self, *args: str, stdin: str | bytes | None = None, config: Mapping[str, str] | None = None) -> str:
        """Run git; its output, or a GitError saying what failed and what to do."""
        status, out, err = self.run(*args, stdin=stdin, config=config)
        if status:
            raise self.failure(args[0], err)
        return out

    def failure(self, command: str, stderr: str) -> GitError:
        """A GitError for a failed git command, with what to do, secrets masked."""
        hint = next((hint for fragment, hint in HINTS if fragment in stderr), DEFAULT_HINT)
        return GitError(self.mask(f"git {command} failed: {last_lines(stderr).rstrip('.')}. To fix: {hint}."))

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _config(self) -> dict[str, str]:
        count = int(self._env.get("GIT_CONFIG_COUNT", "0"))
        return {self._env[f"GIT_CONFIG_KEY_{i}"]: self._env[f"GIT_CONFIG_VALUE_{i}"] for i in range(count)}


def _environment(config: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_ASKPASS": "", "SSH_ASKPASS": "",
           **extra, "GIT_CONFIG_COUNT": str(len(config))}
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
    return env


def last_lines(stderr: str, count: int = 3) -> str:
    """The last few lines of git's error output that are not hints, joined."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("hint:")]
    return " / ".join(lines[-count:]) or "no error output"
