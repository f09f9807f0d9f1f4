"""The released sandbox image's background pull: overlaps the run, waited for only when needed."""

from __future__ import annotations

import threading

import pytest
from docker.errors import APIError

from codeagent.errors import SandboxError
from codeagent.sandbox.prefetch import Prefetch


def test_no_image_means_nothing_to_pull_and_no_wait():
    pulled = []
    assert Prefetch("", pulled.append).start().image(timeout_s=0) == ""
    assert pulled == []


def test_the_pull_runs_in_the_background_and_the_image_waits_for_it():
    release = threading.Event()
    started = threading.Event()

    def pull(image: str) -> None:
        started.set()
        release.wait(5)

    prefetch = Prefetch("ghcr.io/o/n-sandbox@sha256:" + "a" * 64, pull).start()
    assert started.wait(5)  # start() returned while the pull goes on
    with pytest.raises(SandboxError, match="did not finish pulling"):
        prefetch.image(timeout_s=0.05)
    release.set()
    assert prefetch.image(timeout_s=5) == "ghcr.io/o/n-sandbox@sha256:" + "a" * 64
    assert prefetch.seconds is not None


def test_a_failed_pull_says_what_to_do_when_the_image_is_needed():
    def pull(image: str) -> None:
        raise APIError("manifest unknown")

    prefetch = Prefetch("ghcr.io/o/n-sandbox:1.0.0", pull).start()
    with pytest.raises(SandboxError, match="cannot pull the sandbox image ghcr.io/o/n-sandbox:1.0.0.*Re-run"):
        prefetch.image(timeout_s=5)
