"""The packer started early, as the action hands it over: the FIFO's word, and what `pack` does when the
early packer was not started, was started for other arguments, failed, or met a limit."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from codeagent.changes import Caps
from codeagent.errors import SandboxError
from codeagent.sandbox.engine import SandboxExit
from codeagent.sandbox.packer import GO, EarlyPacker, PackRequest, packed_early

REQUEST = PackRequest("a" * 40, 1_764_000_000.25, Caps(10**6, 10**7))
OWNER = (os.getuid(), os.getgid())


class StartedPacker:
    """Stands for `engine.Started`: on `finish` it reads the word said on the FIFO, as the packer does, and
    ends as told (``manifest``: it wrote one)."""

    def __init__(self, out: Path, exit_code: int = 0, manifest: bool = True, fails: bool = False, **limits) -> None:
        self.out, self.exit_code, self.manifest, self.fails, self.limits = out, exit_code, manifest, fails, limits
        self.heard = b""
        self.discarded = 0

    def finish(self, on_line) -> SandboxExit:
        with open(self.out / GO, "rb") as pipe:
            self.heard = pipe.readline()
        if self.fails:
            raise SandboxError("the packer container failed: 500 Server Error")
        on_line("packing")
        if self.manifest:
            (self.out / "manifest.json").write_text(json.dumps({"commit": None}))
        return SandboxExit(self.exit_code, self.limits.get("timed_out", False), self.limits.get("oom_killed", False),
                           ("stderr line",))

    def discard(self) -> None:
        self.discarded += 1


def early(tmp_path: Path, started: StartedPacker | Exception) -> EarlyPacker:
    def start():
        if isinstance(started, Exception):
            raise started
        return started
    return EarlyPacker(start, REQUEST, tmp_path, OWNER)  # type: ignore[arg-type]


def test_the_packer_started_early_is_told_go_and_its_pack_is_taken(tmp_path):
    started = StartedPacker(tmp_path)
    packer, warnings = early(tmp_path, started), []
    assert stat.S_ISFIFO((tmp_path / GO).lstat().st_mode)

    assert packed_early(packer, REQUEST, tmp_path, warnings.append) is True

    assert started.heard == b"go\n" and warnings == []


def test_one_started_for_other_arguments_is_removed_unread(tmp_path):
    started = StartedPacker(tmp_path)
    packer = early(tmp_path, started)
    other = PackRequest(REQUEST.base, REQUEST.since + 0.001, REQUEST.caps)

    assert packed_early(packer, other, tmp_path, [].append) is False

    assert started.heard == b"" and started.discarded == 1


def test_one_that_could_not_be_started_is_said_and_packing_starts_then(tmp_path):
    warnings: list[str] = []
    packer = early(tmp_path, SandboxError("cannot create the packer container: no space left"))
    assert packed_early(packer, REQUEST, tmp_path, warnings.append) is False
    assert warnings == ["the packer could not be started early (cannot create the packer container: no space "
                        "left); packing now"]


@pytest.mark.parametrize("how", [dict(exit_code=1), dict(manifest=False), dict(fails=True)])
def test_one_that_did_not_pack_is_said_and_another_packs(tmp_path, how):
    started, warnings = StartedPacker(tmp_path, **how), []
    assert packed_early(early(tmp_path, started), REQUEST, tmp_path, warnings.append) is False
    assert started.heard == b"go\n" and len(warnings) == 1 and "packing again" in warnings[0]


@pytest.mark.parametrize("limit", ["timed_out", "oom_killed"])
def test_a_limit_the_early_packer_met_is_the_changes_and_is_raised(tmp_path, limit):
    started = StartedPacker(tmp_path, exit_code=137, manifest=False, **{limit: True})
    with pytest.raises(SandboxError, match="the agent's change could not be gathered"):
        packed_early(early(tmp_path, started), REQUEST, tmp_path, [].append)


def test_a_packer_waiting_for_a_word_that_never_comes_reads_the_fifos_end_once_the_action_lets_go(tmp_path):
    """The action's end is the FIFO's only writer: when it is closed (the action discards the packer, or
    the action is killed and the kernel closes it), the packer's read ends, with nothing said."""
    opened: list[int] = []

    def start():
        opened.append(os.open(tmp_path / GO, os.O_RDONLY | os.O_NONBLOCK))  # as the packer opens it
        return StartedPacker(tmp_path)

    packer = EarlyPacker(start, REQUEST, tmp_path, OWNER)  # type: ignore[arg-type]
    packer._thread.join()
    with pytest.raises(BlockingIOError):
        os.read(opened[0], 16)  # a writer holds it: nothing yet, and no end

    packer.discard()

    assert os.read(opened[0], 16) == b""  # the end of the FIFO
    os.close(opened[0])
