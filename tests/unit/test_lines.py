"""The output splitter: every line, whole or cut at the cap, wherever the chunks break."""

from __future__ import annotations

import random

from codeagent.sandbox.lines import LineSplitter


def test_lines_come_whole_or_cut_at_the_cap_however_the_chunks_break():
    lines = [b"y", b"", b"x" * 30, b"z" * 9, "é".encode() * 3, b"w" * 11, b"tail without newline"]
    data = b"\n".join(lines)
    for seed in range(50):
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(data)), 6))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        splitter = LineSplitter(max_line=10)
        assert list(splitter.split(chunks)) == [line[:10].decode("utf-8", "replace") for line in lines]
        assert splitter.cut_lines == 3


def test_past_the_total_cap_nothing_more_is_passed_on_and_it_is_counted():
    splitter = LineSplitter(max_total=10)
    assert list(splitter.split([b"abc\ndef\n", b"ghij\nklm\n"])) == ["abc", "def", "gh"]
    assert splitter.dropped_bytes == 7
