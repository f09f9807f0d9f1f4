"""The run's sandbox definition: a devcontainer's setup and notes, and changes that wait for a merge."""

from __future__ import annotations

from codeagent.sandbox.results import StepResult
from codeagent.sandbox.workbench import SandboxImage
from tests.unit.test_workflow import world


def test_the_devcontainer_s_commands_run_before_setup_and_its_notes_are_said():
    w = world()
    w.sandbox.image = SandboxImage("go:1", {"GOFLAGS": "-mod=mod"}, ("go mod download",),
                                   ("`.devcontainer/devcontainer.json`: features are skipped: `ghcr.io/x/y:1`.",))

    outcome = w.run(setup=["make deps"])

    assert outcome.result == "success"
    assert w.sandbox.commands[:2] == ["go mod download", "make deps"]
    assert w.journal.index("run make deps") < w.journal.index("agent runs")
    assert "features are skipped: `ghcr.io/x/y:1`" in w.comments[0]


def test_a_failing_post_create_command_names_where_it_comes_from():
    w = world(steps={"npm ci": [StepResult("npm ci", 1, False, ("npm ERR! missing package-lock.json",))]})
    w.sandbox.image = SandboxImage("node:22", setup=("npm ci",))

    outcome = w.run(setup=["never run"])

    assert outcome.result == "failure" and w.sandbox.prompts == [] and "never run" not in w.sandbox.commands
    assert "from the devcontainer's `postCreateCommand`" in w.comments[0]
    assert "npm ERR! missing package-lock.json" in w.comments[0]


def test_a_branch_that_changes_the_sandbox_s_definition_is_told_it_waits_for_a_merge():
    w = world()
    w.branches.not_merged = {".devcontainer", ".github/codeagent.yml"}

    w.run()

    assert ("This branch changes `.devcontainer`, `.github/codeagent.yml`; the run uses the default branch's "
            "version, and the change takes effect once it is merged.") in w.comments[0]


def test_the_same_definition_as_the_default_branch_says_nothing_of_it():
    w = world()

    w.run()

    assert "takes effect once it is merged" not in w.comments[0]
