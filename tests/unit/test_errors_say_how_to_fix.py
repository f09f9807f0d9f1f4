"""Every failure a user can hit says what to do about it.

The test walks every `raise` of a `CodeagentError` (and of the gateway's `Refused`, whose
words reach the agent and the progress comment) in codeagent/: a message written at the
raise must say what to do (an imperative such as "fix", "set", "re-run", "add"); a message
built elsewhere must come from one of the builders below, each tested to say it too (git's
failures are built by `gitcmd.Git.failure`, which always ends "To fix: …", tested below).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from codeagent import errors
from codeagent.errors import CodeagentError

ROOT = Path(__file__).resolve().parents[2] / "codeagent"
FIX = re.compile(r"\b(to fix|fix|set|add|pass|run|re-run|check|give|remove|move|use|install|restore|merge|report|"
                 r"free|pull|build|exempt|enable|make|start|comment|keep|push|call|declare)\b", re.IGNORECASE)
ERRORS = {name for name, value in vars(errors).items() if inspect.isclass(value) and issubclass(value, CodeagentError)}
ERRORS |= {"UnexpectedError", "Refused"}
BUILT_ELSEWHERE = {
    # message expression at the raise: where it is built and shown to say what to do
    "explain(action, error)": "github_client.explain, tests/unit/test_github_client.py",
    "used_up": "github_retry._primary_pause: 're-run the job after the reset'",
    "pause.gave_up": "github_retry: every Pause's gave_up says 're-run the job'",
    "_MISSING_SECRET[self.agent]": "settings._MISSING_SECRET, tests/unit/test_settings.py",
    "'\\n'.join(lines)": "inputs._describe: one line per problem, each naming the input to fix",
    "message": "report.setup_failed: 'Fix `setup` in .github/codeagent.yml'",
}


def raises() -> list[tuple[str, int, str, str]]:
    """(file, line, error class, message expression) of every raise of a user-facing error."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in ERRORS:
                    found.append((str(path.relative_to(ROOT)), node.lineno, name, ast.unparse(node.exc.args[0])))
    return found


@pytest.mark.parametrize("where, line, error, message", raises(), ids=lambda value: str(value)[:60])
def test_each_raised_error_says_what_to_do(where, line, error, message):
    if message in BUILT_ELSEWHERE:
        return
    assert FIX.search(message), f"{where}:{line}: {error}({message[:120]}) does not say what to do"


def test_the_builders_named_above_are_still_used():
    used = {message for *_, message in raises()}
    assert not set(BUILT_ELSEWHERE) - used, f"no longer raised, drop them: {set(BUILT_ELSEWHERE) - used}"


def test_the_git_failure_always_ends_with_what_to_do():
    from codeagent.gitcmd import Git

    assert "To fix: " in str(Git(Path("/")).failure("push", "fatal: something nobody expected"))


def test_the_github_fallback_says_what_to_do():
    from github import GithubException

    from codeagent.github_client import explain

    assert FIX.search(explain("reading the issue", GithubException(418, {"message": "teapot"}, None)))
