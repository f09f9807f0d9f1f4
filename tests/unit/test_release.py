"""The release pipeline holds together: the workflow runs scripts/release as its header says, and the
script refuses what would publish under a wrong name. (Publishing itself: tests/e2e/test_released.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "scripts" / "release"


def release(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RELEASE), *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("version", ["1.2", "v1.2.3-rc1", "latest", ""])
def test_a_version_that_is_not_x_y_z_is_refused(version):
    result = release(version, "--image", "ghcr.io/o/n")
    assert result.returncode == 2 and "VERSION must be X.Y.Z" in result.stderr


@pytest.mark.parametrize("image", ["ghcr.io/Owner/Name", "ghcr.io/o/n:1.0.0", "ghcr.io/o/n@sha256:abc", "n"])
def test_an_image_with_capitals_a_tag_or_no_owner_is_refused(image):
    result = release("v1.2.3", "--image", image)
    assert result.returncode == 2 and "--image must be" in result.stderr


def test_the_release_workflow_tests_then_publishes_both_platforms_and_moves_both_tags():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True]["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+"]  # `on:` reads as True in YAML 1.1
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "test" and "scripts/test" in workflow["jobs"]["test"]["steps"][-1]["run"]
    assert publish["permissions"] == {"contents": "write", "packages": "write"}
    script = "\n".join(step.get("run", "") for step in publish["steps"])
    assert 'scripts/release "$GITHUB_REF_NAME" --image "ghcr.io/${GITHUB_REPOSITORY,,}"' in script
    assert "--platforms linux/amd64,linux/arm64" in script and "--commit" in script
    assert 'git push --force origin "refs/tags/$GITHUB_REF_NAME" "refs/tags/${GITHUB_REF_NAME%%.*}"' in script


def test_main_keeps_building_from_the_dockerfile():
    assert yaml.safe_load((ROOT / "action.yml").read_text())["runs"] == {"using": "docker", "image": "Dockerfile"}
