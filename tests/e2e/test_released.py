"""The released path end to end: scripts/release publishes both images to a local registry, the
runner pulls the action from the released action.yml's ``docker://`` image and runs it, and the
action pulls its sandbox image (named by digest) in the background.

One scenario, the bundled one, keeps the suite within its time budget; `scripts/run-local
--released --scenario DIR` runs any other on this path.
"""

from __future__ import annotations

import pytest
import yaml

from bench.run import REPO_ROOT
from bench.scenario import load_scenario
from tests.e2e.expectations import REPORT_KEYS, check_expectations

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(900)]

SCENARIO = REPO_ROOT / "scenarios" / "add-word-count"


@pytest.fixture(scope="module")
def released(released_run):
    """(release, report): the bundled scenario run from a released image (started with the session,
    tests/e2e/conftest.py); the registry is gone afterwards."""
    return released_run.result()


def test_the_released_action_yml_runs_the_published_image(released):
    release, report = released
    runs = yaml.safe_load(release.action_yml.read_text())["runs"]
    assert runs == {"using": "docker", "image": f"docker://{release.action_image}"}
    assert release.action_image.endswith(":0.0.0") and release.sandbox_image.endswith("-sandbox:0.0.0")
    assert report["action_image"] == release.action_image
    assert isinstance(report["image_pull_s"], float) and report["image_build_s"] is None


def test_the_bundled_scenario_passes_on_the_released_path(released):
    release, report = released
    scenario = load_scenario(SCENARIO)
    context = f"\n--- action log ---\n{report['log'][-6000:]}"
    assert REPORT_KEYS <= report.keys()
    assert report["exit_code"] == 0 and report["outputs"]["result"] == "success", context
    assert report["containers_left"] == [] and report["leaked_secrets"] == [], context
    assert report["unknown_api_requests"] == [] and report["unused_faults"] == [], context
    check_expectations(scenario.raw.get("expect") or {}, report, context)
    [branch] = [b for b in report["branches"] if b["name"] == "codeagent/issue-7"]
    assert sorted(branch["commits"][-1]["files"]) == ["tests/test_word_count.py", "textstats/__init__.py"]


def test_the_agent_ran_in_the_sandbox_image_the_release_pinned(released):
    release, report = released
    pinned = f"{release.sandbox_image.rsplit(':', 1)[0]}@{release.sandbox_digest}"
    assert f"sandbox image: {pinned} " in report["log"], report["log"][-4000:]
