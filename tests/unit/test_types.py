"""The seams hold: the type checker scripts/test runs fails when a fake drifts from its port."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_fake_that_stops_matching_its_port_fails_the_type_check(tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "codeagent", copy / "codeagent", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests" / "unit").mkdir(parents=True)
    for name in ("__init__.py",):
        (copy / "tests" / name).write_text("")
        (copy / "tests" / "unit" / name).write_text("")
    fakes = (ROOT / "tests" / "unit" / "fakes.py").read_text()
    drifted = fakes.replace("def comment(self, number: int, body: str) -> Comment:",
                            "def comment(self, number: int, body: int) -> Comment:")
    assert drifted != fakes
    (copy / "tests" / "unit" / "fakes.py").write_text(drifted)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")

    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=copy, capture_output=True,
                            text=True)

    assert result.returncode == 1, result.stdout
    assert "tests/unit/fakes.py" in result.stdout and "GitHub" in result.stdout
