"""Fixtures shared across the test folders."""

from __future__ import annotations

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
