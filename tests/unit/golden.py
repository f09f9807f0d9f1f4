"""Golden files: expected output kept under tests/fixtures/golden/.

After an intended change of the output, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit -q
"""

import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "golden"


def assert_golden(name: str, actual: str) -> None:
    """`actual` equals the golden file `name` (written instead when UPDATE_GOLDEN is set)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8"), f"output differs from {path} (UPDATE_GOLDEN=1 to accept)"
