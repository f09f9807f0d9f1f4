"""README.md is rendered from README.md.in: the inputs and outputs tables come from
action.yml and the workflow block from .github/workflows/codeagent.yml."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _table(entries: dict) -> str:
    return "\n".join(f"| `{name}` | {' '.join(spec['description'].split())} |" for name, spec in entries.items())


def render() -> str:
    """README.md as it should be."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    workflow = (ROOT / ".github" / "workflows" / "codeagent.yml").read_text().rstrip()
    text = (ROOT / "README.md.in").read_text()
    return (text.replace("@INPUTS@", _table(action["inputs"]))
                .replace("@OUTPUTS@", _table(action["outputs"]))
                .replace("@WORKFLOW@", workflow))


if __name__ == "__main__":
    sys.stdout.write(render())
