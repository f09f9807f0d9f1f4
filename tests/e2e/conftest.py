"""The released path's run starts with the session, beside the other scenarios.

Publishing both images (scripts/release into a local registry) is mostly compressing layers on
one core, while the scenarios of tests/e2e/test_scenarios.py mostly wait; run one after the
other they would add minutes to the suite's time budget. Started here when a test of
test_released.py is selected; the registry is stopped, and its storage removed, when it ends.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from bench.registry import LocalRegistry
from bench.release import Release, publish
from bench.run import BASE_IMAGE, REPO_ROOT, run_scenario
from bench.scenario import load_scenario
from tests.e2e.expectations import timed

RELEASED_SCENARIO = REPO_ROOT / "scenarios" / "add-word-count"


def pytest_collection_modifyitems(items):
    """The released path's tests last: by then its run, started with the session, is done; before them
    the scenarios that run alone once the others are done (`expectations.TIMED`)."""
    def order(item) -> tuple[bool, bool]:
        scenario = item.originalname == "test_scenario" and item.module.__name__.endswith("test_scenarios")
        return item.module.__name__.endswith("test_released"), scenario and timed(item.callspec.params["path"])

    items.sort(key=order)


@pytest.fixture(scope="session", autouse=True)
def released_run(request, tmp_path_factory):
    """A future of (release, report) for the bundled scenario on the released path, or None."""
    if not any(item.module.__name__.endswith("test_released") for item in request.session.items):
        yield None
        return
    release_dir, run_dir = tmp_path_factory.mktemp("release"), tmp_path_factory.mktemp("released-run")

    def publish_and_run() -> tuple[Release, dict]:
        with LocalRegistry() as registry:
            release = publish(registry, release_dir, BASE_IMAGE)
            return release, run_scenario(load_scenario(RELEASED_SCENARIO), run_dir, release.image)

    with ThreadPoolExecutor(max_workers=1) as pool:
        future: Future = pool.submit(publish_and_run)
        yield future
        future.cancel()
