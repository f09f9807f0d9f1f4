"""The project's sandbox made ready: its image's notes, its setup commands, and its tests before the
agent (the baseline the verify gate compares with)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from codeagent import report, verify
from codeagent.errors import SetupError
from codeagent.sandbox.results import StepResult
from codeagent.text import first_line

if TYPE_CHECKING:
    from codeagent.workflow import Run


class ProjectSetup:
    """The setup phase of one `Run`: it leaves the run's `verification` with the baseline."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def set_up(self) -> None:
        """The sandbox's image, the project's setup commands, then its tests before the agent (the baseline)."""
        self.note_changes_not_in_effect()
        image = self.run.sandbox.image
        for note in image.notes:
            self.run.progress.note(note)
        steps = [*((command, "the devcontainer's `postCreateCommand`") for command in image.setup),
                 *((command, "`setup`") for command in self.run.settings.setup)]
        for command, origin in steps:
            result = self.run.run_step("setup", command)
            if not result.ok:
                self.setup_failed(result, origin)
                break
        self.baseline()

    def note_changes_not_in_effect(self) -> None:
        """The sandbox is defined by the default branch: say so when this branch changes its definition."""
        watched = (".devcontainer", ".devcontainer.json", self.run.settings.config_file)
        changed = self.run.branches.differs_from_default(self.run.require_target().tip, watched)
        if changed:
            self.run.progress.note(f"This branch changes {', '.join(report.code(path) for path in changed)}; the "
                                   "run uses the default branch's version, and the change takes effect once it is "
                                   "merged.")

    def setup_failed(self, result: StepResult, origin: str) -> None:
        message = report.setup_failed(result, origin)
        if self.run.settings.setup_failure != "continue":
            raise SetupError(message)
        self.run.log.warning(message.splitlines()[0])
        self.run.progress.note(f"Setup failed; the agent was started anyway (`setup-failure: continue`): "
                               f"{report.code(first_line(result.command, 200))} ({report.step_status(result)}).")

    def baseline(self) -> None:
        """Which command runs the tests, and how they fare before the agent."""
        command, why = self.verify_command()
        self.run.verification = verify.Verification(command, why)
        self.run.log.info(f"tests: `{command}` ({why})" if command else why)
        if command:
            before = self.run.run_step("tests before the agent", command)
            self.run.verification = replace(self.run.verification, before=before)

    def verify_command(self) -> tuple[str, str]:
        configured = self.run.settings.verify_command.strip()
        if configured.lower() == "none":
            return "", "no tests run (`verify-command: none`)"
        if configured:
            return configured, "`verify-command`"
        return verify.detect_command(self.run.branches.default_branch_file)
