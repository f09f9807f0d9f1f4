"""The shape STYLE.md asks for, held: no module of the action over 350 lines, no function over 40.

Lines are counted as they stand in the file (docstrings and comments included): a reader pays
for them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "codeagent"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 40


def test_the_package_is_where_the_test_looks() -> None:
    assert len(MODULES) > 30, f"found only {len(MODULES)} modules under {PACKAGE}"


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_longer_than_350_lines(module: Path) -> None:
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.relative_to(PACKAGE.parent)} has {lines} lines: split it by responsibility"


def _long_functions(source: str) -> list[tuple[str, int, int]]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                found.append((node.name, node.lineno, length))
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_function_is_longer_than_40_lines(module: Path) -> None:
    long = _long_functions(module.read_text())
    assert not long, "; ".join(f"{module.relative_to(PACKAGE.parent)}:{line} {name}() has {length} lines"
                               for name, line, length in long)


def test_the_function_check_finds_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(45))
    assert [(name, length) for name, _, length in _long_functions(f"def f():\n{body}\n")] == [("f", 46)]
    assert _long_functions("def g():\n    return 1\n") == []
