"""The stand-in package index: pip installs from it, as from PyPI's simple API."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from bench.index import PackageIndex, build_wheel, installed_wheels


def test_pip_installs_a_built_wheel_and_a_repacked_one_with_its_dependencies(tmp_path):
    wheels = installed_wheels("pluggy") + [build_wheel("bench-thing", "1.0", {"bench_thing.py": "ANSWER = 42\n"},
                                                       requires=("pluggy>=1",))]
    with PackageIndex(wheels) as index:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--isolated", "--disable-pip-version-check", "--no-cache-dir",
             "--target", str(tmp_path), "--index-url", f"http://127.0.0.1:{index.port}/simple/", "Bench_Thing"],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully installed Bench_Thing-1.0 pluggy-" in done.stdout
    assert (tmp_path / "bench_thing.py").read_text() == "ANSWER = 42\n"
    assert (tmp_path / "pluggy" / "__init__.py").is_file()
    assert "/simple/bench-thing/" in index.requests and "/simple/pluggy/" in index.requests


def test_pages_as_pep_503_has_them():
    wheel = build_wheel("thing", "2.0", {"thing.py": ""})
    with PackageIndex([wheel]) as index:
        base = f"http://127.0.0.1:{index.port}"
        assert '<a href="/simple/thing/">thing</a>' in urllib.request.urlopen(f"{base}/simple/").read().decode()
        page = urllib.request.urlopen(f"{base}/simple/Thing/").read().decode()
        assert f'/files/thing-2.0-py3-none-any.whl#sha256={wheel.sha256}' in page
        assert urllib.request.urlopen(f"{base}/files/{wheel.filename}").read() == wheel.data
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{base}/simple/other/")
