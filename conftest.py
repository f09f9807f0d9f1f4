"""Fixtures shared across the test folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    """The Docker engine, or a failure that says how to start one."""
    try:
        engine = docker.from_env()
        engine.ping()
    except DockerException as error:
        pytest.fail(f"no Docker engine answers ({error}): run scripts/setup-docker")
    return engine


DEV_ACTION_IMAGE = os.environ.get("CODEAGENT_IMAGE_TAG", "codeagent-action:bench") + "-dev"


@pytest.fixture(scope="session")
def dev_action_image(docker_engine) -> str:
    """The action image built from this checkout, for the Docker tests that start it by hand.

    Built every session, never taken from an image left by an earlier one under the same tag
    (it could be from another commit); Docker's build cache makes an unchanged rebuild quick."""
    from bench.runner import build_action_image

    build_action_image(Path(__file__).resolve().parent, DEV_ACTION_IMAGE, "codeagent-base:bookworm")
    return DEV_ACTION_IMAGE


def pytest_terminal_summary(terminalreporter) -> None:
    """Say which entries of the GitHub emulator's spec allowlist no exchange of this session needed
    (bench/github/spec/allowlist.yaml): once nothing needs one, it should go."""
    conformance = sys.modules.get("bench.github.spec.conformance")
    if conformance is None or not conformance.CHECKED.is_set():
        return
    unused = conformance.unused_allowlist()
    if unused:
        terminalreporter.write_sep("-", "GitHub spec allowlist entries no exchange of this session needed")
        for entry in unused:
            terminalreporter.write_line(f"  {entry}")
