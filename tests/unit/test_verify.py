"""The verify gate's words: which command, the runner's counts, who is to blame."""

import pytest

from codeagent.sandbox.results import StepResult
from codeagent.verify import Counts, Verification, counts, detect_command

PYTEST_PASS = ("..", "2 passed in 0.01s")
PYTEST_FAIL = (".F", "FAILED tests/test_a.py::test_b - assert 1 == 2", "1 failed, 1 passed in 0.02s")
NODE_TAP = ("# tests 3", "# suites 0", "# pass 2", "# fail 1", "# cancelled 0", "# duration_ms 40.1")


@pytest.mark.parametrize(("tail", "expected"), [
    (PYTEST_PASS, Counts(2, None)),
    (PYTEST_FAIL, Counts(1, 1)),
    (NODE_TAP, Counts(2, 1)),
    (("ℹ tests 4", "ℹ pass 4", "ℹ fail 0"), Counts(4, 0)),
    (("Tests:       1 failed, 14 passed, 15 total",), Counts(14, 1)),
    (("ok  \texample.com/a\t0.01s", "FAIL\texample.com/b\t0.02s"), Counts(1, 1)),
    (("make: *** [test] Error 2",), Counts(None, None)),
])
def test_counts_as_the_runner_printed_them(tail, expected):
    assert counts(tail) == expected


def step(tail, code=0):
    return StepResult("npm test", code, False, tuple(tail))


def test_tests_that_passed_before_and_fail_after_are_broken_by_the_change():
    verification = Verification("npm test", "`verify-command`", step(PYTEST_PASS), step(PYTEST_FAIL, 1))
    assert verification.broke and not verification.failing_before_and_after
    assert verification.result == "failed"


def test_failures_that_were_there_before_are_not_the_agent_s():
    after = ("# pass 3", "# fail 1")
    verification = Verification("npm test", "`verify-command`", step(NODE_TAP, 1), step(after, 1))
    assert verification.failing_before_and_after and not verification.broke
    assert verification.line() == ("⚠️ tests failing before and after (not caused by this change): `npm test` "
                                   "(`verify-command`): 2 passed, 1 failed (exit code 1) → 3 passed, 1 failed (exit code 1)")


def test_more_failures_than_before_are_the_agent_s():
    verification = Verification("npm test", "x", step(NODE_TAP, 1), step(("# pass 1", "# fail 2"), 1))
    assert verification.broke


def test_the_line_says_the_rounds_and_the_counts():
    verification = Verification("python -m pytest -q", "detected from `pyproject.toml`", step(("1 passed",)),
                                step(PYTEST_PASS), rounds=1)
    assert verification.line() == ("✅ tests pass after 2 rounds: `python -m pytest -q` (detected from "
                                   "`pyproject.toml`): 1 passed → 2 passed")
    assert Verification("", "no test command found").line() == "no test command found"
    assert Verification("", "x").result == "no-tests"
    assert Verification("make test", "x", step(()), None).result == "skipped"


@pytest.mark.parametrize(("files", "command"), [
    ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python -m pytest -q"),
    ({"package.json": '{"scripts": {"test": "node --test"}}'}, "npm test"),
    ({"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'}, ""),
    ({"go.mod": "module x\n"}, "go test ./..."),
    ({"Makefile": "all:\n\ttrue\ntest:\n\ttrue\n"}, "make test"),
    ({"README.md": "hi"}, ""),
])
def test_the_command_is_detected_from_the_project_s_files(files, command):
    assert detect_command(files.get)[0] == command
