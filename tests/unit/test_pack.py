"""The packer with real git: only what the agent changed is staged, whatever the repository's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.sandbox import pack

EXCLUDES = Path(pack.__file__).with_name("never-commit.gitignore")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def checkout_with_files(root: Path, count: int) -> tuple[Path, str]:
    workspace = root / "ws"
    for number in range(count):
        path = workspace / f"data/d{number % 10}/f{number:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{number}\n")
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "base")
    return workspace, git(workspace, "rev-parse", "HEAD")


def arguments(root: Path, workspace: Path, base: str) -> list[str]:
    out = root / "out"
    out.mkdir()
    return ["--base", base, "--workspace", str(workspace), "--objects", str(workspace / ".git" / "objects"),
            "--out", str(out), "--index", str(workspace / ".git" / "index"), "--excludes", str(EXCLUDES)]


def test_only_the_changed_paths_are_staged_not_every_file_of_the_index(tmp_path):
    workspace, base = checkout_with_files(tmp_path, 500)
    (workspace / "data/d1/f0001.txt").write_text("changed\n")
    (workspace / "data/d2/f0002.txt").unlink()
    (workspace / "new.txt").write_text("new\n")
    packer = pack.Packer(pack._arguments(arguments(tmp_path, workspace, base)))
    packer._init()
    assert sorted(packer._changed_paths()) == ["data/d1/f0001.txt", "data/d2/f0002.txt", "new.txt"]


def test_the_bundle_holds_one_commit_with_exactly_the_agents_change(tmp_path):
    workspace, base = checkout_with_files(tmp_path, 50)
    (workspace / "data/d3/f0003.txt").write_text("changed\n")
    (workspace / "added.txt").write_text("added\n")
    assert pack.main(arguments(tmp_path, workspace, base)) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    changed = git(workspace, "--git-dir", str(tmp_path / "out" / "pack.git"), "diff", "--name-only", base,
                  manifest["commit"])
    assert changed.splitlines() == ["added.txt", "data/d3/f0003.txt"]


def test_what_setup_and_test_runs_leave_behind_is_not_the_agent_s_change(tmp_path):
    workspace, base = checkout_with_files(tmp_path, 5)
    litter = ["textstats.egg-info/PKG-INFO", "src/pkg.egg-info/SOURCES.txt", ".eggs/x/y.py", ".coverage",
              ".coverage.host.123", "htmlcov/index.html", ".nox/tests/bin/python", "pkg/__pycache__/m.cpython-311.pyc",
              ".pytest_cache/v/cache/lastfailed", "node_modules/left-pad/index.js"]
    for path in litter:
        (workspace / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace / path).write_text("litter\n")
    (workspace / "pkg" / "words.py").write_text("def word_count(text): return len(text.split())\n")
    assert pack.main(arguments(tmp_path, workspace, base)) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    changed = git(workspace, "--git-dir", str(tmp_path / "out" / "pack.git"), "diff", "--name-only", base,
                  manifest["commit"])
    assert changed.splitlines() == ["pkg/words.py"]


def packer_waiting(tmp_path: Path, workspace: Path, base: str, wait_s: int = 60, action_gone: bool = False):
    """The packer with ``--go``, as a process of its own (as in its container); the action's end of its
    FIFO, opened before the packer starts as the action does (-1: the action was gone by then)."""
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    end = -1 if action_gone else os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    argv = [*arguments(tmp_path, workspace, base), "--go", str(fifo), "--wait-s", str(wait_s)]
    process = subprocess.Popen([sys.executable, "-m", "codeagent.sandbox.pack", *argv])
    return end, process


def test_a_packer_started_early_reads_the_checkout_only_once_told_go(tmp_path):
    workspace, base = checkout_with_files(tmp_path, 20)
    end, process = packer_waiting(tmp_path, workspace, base)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(1)
    assert not (tmp_path / "out" / "manifest.json").exists()
    (workspace / "written-after-the-start.txt").write_text("late\n")  # the agent still works meanwhile

    os.write(end, b"go\n")
    assert process.wait(30) == 0
    os.close(end)

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    changed = git(workspace, "--git-dir", str(tmp_path / "out" / "pack.git"), "diff", "--name-only", base,
                  manifest["commit"])
    assert changed.splitlines() == ["written-after-the-start.txt"]


@pytest.mark.parametrize("word", [b"stop\n", b"gone\n", b"go go\n"])
def test_a_packer_started_early_and_not_told_go_packs_nothing(tmp_path, word):
    workspace, base = checkout_with_files(tmp_path, 5)
    (workspace / "x.txt").write_text("x\n")
    end, process = packer_waiting(tmp_path, workspace, base)
    os.write(end, word)
    assert process.wait(30) == 0
    os.close(end)
    assert not (tmp_path / "out" / "manifest.json").exists() and not (tmp_path / "out" / "change.bundle").exists()


def test_a_packer_never_told_anything_gives_up_after_its_wait(tmp_path):
    workspace, base = checkout_with_files(tmp_path, 5)
    end, process = packer_waiting(tmp_path, workspace, base, wait_s=1)
    assert process.wait(30) == 0 and not (tmp_path / "out" / "manifest.json").exists()
    os.close(end)


@pytest.mark.parametrize("when", ["before it started", "while it waits"])
def test_a_packer_whose_action_is_gone_ends_at_once_unread(tmp_path, when):
    """The kernel closes a killed action's end of the FIFO: the packer reads the FIFO's end."""
    workspace, base = checkout_with_files(tmp_path, 5)
    (workspace / "x.txt").write_text("x\n")
    end, process = packer_waiting(tmp_path, workspace, base, wait_s=3600, action_gone=when == "before it started")
    if end >= 0:
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(1)
        os.close(end)
    assert process.wait(30) == 0 and not (tmp_path / "out" / "manifest.json").exists()
