"""How a run ends: the progress comment, the pull request and the outcome, once the agent is done
(`report`) or once the run raised (`failed`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from codeagent import report
from codeagent.changes import Change, FileChange
from codeagent.errors import Cancelled, CodeagentError, GitHubError, SubjectNotFound
from codeagent.outcome import Outcome
from codeagent.progress_view import PR_READY, Status
from codeagent.text import first_line

if TYPE_CHECKING:
    from codeagent.workflow import Run


class Conclusion:
    """The last phase of one `Run`: it reads the run's state and says how it ended."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def report(self) -> Outcome:
        target, run, change = self.run.require_target(), self.run.agent_run, self.run.change or Change(None, ())
        assert run is not None
        usage = self.run.sandbox.usage
        self.run.progress.stats(usage.turns, usage.cost_usd)
        self.run.progress.blocked(usage.blocked)
        if self.run.verification is not None:
            self.run.progress.verification(self.run.verification.line())
        for line in report.left_out_lines(change, ignored=change.commit is not None):
            self.run.progress.note(line)  # with no commit, the ending names the ignored files itself
        outcome = Outcome("success", self.run.trigger, branch=target.branch, pull_request=target.pull, agent=run,
                          usage=usage, change=change, verification=self.run.verification)
        if run.problem:
            return self.report_problem(outcome)
        if change.commit is None:
            return self.report_no_changes(outcome)
        broke = self.run.verification is not None and self.run.verification.broke
        self.update_pull_request(ready=not broke)
        if target.follow_up and self.run.trigger.review_context is not None:
            self.run.reply(report.follow_up_reply(run.summary, change.commit.files))
        if broke:
            assert self.run.verification is not None
            self.run.progress.finish("tests-failing", reason=report.tests_failing(self.run.verification))
            return replace(outcome, result="failure", message="the tests fail after the agent's change")
        self.run.progress.phase(PR_READY, Status.DONE)
        self.dispatch_workflows()
        self.run.progress.finish("success", reason=run.summary if target.follow_up else "")
        return outcome

    def report_problem(self, outcome: Outcome) -> Outcome:
        run = self.run.agent_run
        assert run is not None
        if self.run.pushed:
            self.update_pull_request(ready=False)
        kept = report.work_kept(outcome.change, self.run.require_target().pull)
        if run.limit:
            self.run.progress.finish("limit", reason=kept, limit=run.limit)
        else:
            self.run.progress.finish("failure", reason=f"{run.problem}\n\n{kept}")
        return replace(outcome, result="failure", message=run.problem, title=f"{run.agent} did not finish")

    def report_no_changes(self, outcome: Outcome) -> Outcome:
        """Nothing to commit: the agent's answer is the result; a draft opened for this run is closed
        (and the outcome, so the outputs, name neither it nor a branch that is gone)."""
        target, run, change = self.run.require_target(), self.run.agent_run, outcome.change
        assert run is not None
        ignored = change.ignored_changed if change is not None else ()
        outcome = replace(outcome, result="no-changes", message="the agent changed no files" if not ignored else
                          "the agent changed only files the repository's .gitignore covers; nothing was committed")
        if target.new_pull and self.close_empty_pull_request():
            outcome = replace(outcome, pull_request=replace(target.pull, state="closed"),
                              branch="" if target.new_branch else target.branch)
            self.run.progress.note("The draft pull request opened for this run is closed"
                                   + (f" and its branch `{target.branch}` deleted." if target.new_branch else "."))
        ready = not target.pull.draft and target.pull.state == "open" and not target.new_pull
        self.run.progress.finish("no-changes", reason=run.summary, ready=ready, ignored=ignored)
        return outcome

    def update_pull_request(self, ready: bool) -> None:
        """The pull request's body (the action's section of it) and, when ``ready``, out of draft."""
        target = self.run.require_target()
        pull = target.pull
        files = self.pull_request_files()
        section = report.pull_request_section(target, self.run.agent_run, self.run.sandbox.usage, files,
                                              self.run.change, self.run.verification, self.run.trigger)
        old_body = pull.body if not target.new_pull else report.draft_pr_body(target.number, self.run.run_url)
        body = report.with_section(old_body, section)
        title = pull.title.removeprefix(report.WIP_PREFIX) if ready and target.wip_title else None
        self.run.github.update_pull_request(pull.number, body=body, title=title)
        if ready and pull.draft and not target.wip_title:
            self.run.github.mark_ready_for_review(pull.number)

    def pull_request_files(self) -> list[FileChange]:
        """The pull request's whole change as GitHub lists it (renames found), and this run's files the
        listing does not show yet: GitHub brings a pull request up to date with a push asynchronously."""
        ours = list(self.run.change.commit.files) if self.run.change and self.run.change.commit else []
        try:
            listed = self.run.github.pull_request_files(self.run.require_target().pull.number)
        except GitHubError as error:
            self.run.log.warning(f"could not list the pull request's files, listing this run's: {error}")
            return ours
        shown = {path for file in listed for path in (file.path, file.previous) if path}
        return listed + [file for file in ours if file.path not in shown]

    def close_empty_pull_request(self) -> bool:
        """Nothing changed: close the draft opened for it and delete a branch holding only the first
        commit, unless `on-no-changes: keep`. Whether it was closed."""
        target = self.run.require_target()
        if self.run.settings.on_no_changes == "keep":
            self.run.log.info(f"no changes; the draft pull request {target.pull.html_url} stays open "
                              "(on-no-changes: keep)")
            return False
        self.run.github.update_pull_request(target.pull.number, state="closed")
        if target.new_branch:
            self.run.branches.delete_remote_branch(target.branch)
        deleted = f" and deleted {target.branch}" if target.new_branch else ""
        self.run.log.info(f"no changes; closed {target.pull.html_url}{deleted}")
        return True

    def dispatch_workflows(self) -> None:
        """Start the repository's CI on the branch: pushes made with the workflow token start none."""
        target = self.run.require_target()
        for workflow in self.run.settings.dispatch_workflows:
            try:
                url = self.run.github.dispatch_workflow(workflow, target.branch)
                self.run.progress.note(f"Started the workflow `{workflow}` on `{target.branch}`: {url}")
            except GitHubError as error:
                self.run.progress.note(f"Could not start the workflow `{workflow}`: {first_line(str(error), 300)}")

    def failed(self, error: CodeagentError) -> Outcome:
        """How a run that raised ends: the progress comment (or, before there is one, a comment) says it,
        and the outcome keeps how far it got."""
        if self.run.progress.started:
            self.run.progress.blocked(self.run.sandbox.usage.blocked)
            self.run.progress.finish("cancelled" if isinstance(error, Cancelled) else "failure", reason=str(error))
        elif not isinstance(error, SubjectNotFound):  # no comment on an issue that is not there
            try:
                self.run.reply(report.failure_comment(error.title, str(error), self.run.run_url))
            except CodeagentError as second:  # the annotation and the summary still say it
                self.run.log.warning(f"could not comment the failure: {second}")
        return self.failed_outcome(error)

    def failed_outcome(self, error: CodeagentError) -> Outcome:
        """The outcome of a failed run, with the branch and pull request it reached."""
        target = self.run.target
        return Outcome("failure", self.run.trigger, message=str(error), title=error.title,
                       branch=target.branch if target else "", pull_request=target.pull if target else None,
                       agent=self.run.agent_run, usage=self.run.sandbox.usage if self.run.agent_run else None,
                       change=self.run.change, verification=self.run.verification)
