"""Fixtures shared across the test folders."""

from __future__ import annotations

import sys

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
