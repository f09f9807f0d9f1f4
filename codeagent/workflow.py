"""The run, top to bottom: who asked, acknowledge, branch, prompt, setup, agent, tests, commit, report.

One `Run` holds the run's state (the request, the settings, the adapters, the progress
comment, the branch it works on); its phases are short methods, each a log group, and the
longer ones are small classes of their own that read that state: `Task` (the prompt),
`ProjectSetup` (setup and the tests before the agent), `Conclusion` (the report, or the
failure). The adapters come in as `ports` (GitHub, git, the sandbox), so tests pass small fakes.

The trust boundary runs through the middle: the agent works in the sandbox (no secret, no
network but the gateway); its change comes back as data from the packer and is checked
before anything is committed or pushed (`Branches.commit_change`).
"""

from __future__ import annotations

import time
from dataclasses import replace

from codeagent import conversation, report, verify
from codeagent.agent.base import AgentRun
from codeagent.branch_lock import BranchLock, Clock, LockHolder, holding_limit_s
from codeagent.changes import Change
from codeagent.conclusion import Conclusion
from codeagent.errors import (Cancelled, CodeagentError, GitError, GitHubError, PullRequestChanged, SandboxError,
                             SubjectNotFound)
from codeagent.event import Trigger
from codeagent.github_types import PullRequest
from codeagent.log import Log
from codeagent.outcome import Outcome
from codeagent.ports import Branches, GitHub, Sandbox
from codeagent.progress_comment import ProgressComment
from codeagent.progress_view import AGENT_WORKING, BRANCH_READY, CHANGES_PUSHED, Status, run_id_of
from codeagent.project_setup import ProjectSetup
from codeagent.sandbox.results import StepResult
from codeagent.settings import Settings
from codeagent.target import Target, for_issue, for_pull_request, refusal
from codeagent.task import Task
from codeagent.text import first_line

NOTES_REF = "refs/notes/codeagent/"
STEP_TIMEOUT_S = 15 * 60.0
"""Longest a setup or test command may run."""


class Run:
    """One request, carried out: `execute` returns how it ended."""

    def __init__(self, trigger: Trigger, settings: Settings, github: GitHub, branches: Branches, sandbox: Sandbox,
                 log: Log, run_url: str, progress: ProgressComment | None = None, run_attempt: str = "1",
                 clock: Clock | None = None) -> None:
        self.trigger, self.settings, self.log, self.run_url, self.run_attempt = trigger, settings, log, run_url, \
            run_attempt
        self.clock = clock
        """The time the wait for a branch held by another run is measured in (tests pass their own)."""
        self.github, self.branches, self.sandbox = github, branches, sandbox
        self.progress = progress or ProgressComment(github, trigger.issue_number, run_url, on_error=log.warning)
        self.target: Target | None = None
        self.lock: BranchLock | None = None
        """This run's hold on the branch, from `prepare` to the end of `execute`."""
        self.pull: PullRequest | None = None
        """The pull request a follow-up asks about, as read when checking who asked."""
        self.agent_run: AgentRun | None = None
        self.change: Change | None = None
        self.pushed: str | None = None
        self.verification: verify.Verification | None = None
        """The verify gate's account, once the setup is done (None: the run stopped before it)."""
        self.started, self.started_wall = time.monotonic(), time.time()
        self.agent_seconds = 0.0
        """Wall-clock time the agent has run so far (all rounds): `timeout-minutes` bounds it."""

    # -- the run --

    def execute(self) -> Outcome:
        try:
            with self.log.group("Check who asked"):
                refused = self.refusal()
            if refused:
                return self.refuse(refused)
            with self.log.group("Preflight"):
                self.branches.check_clean()
                self.sandbox.preflight()
            with self.log.group("Acknowledge"):
                self.acknowledge()
            with self.sandbox:
                return self.work()
        except CodeagentError as error:
            return Conclusion(self).failed(error)
        except BaseException as error:
            if self.progress.started:
                self.progress.finish("failure", reason=f"Unexpected error ({type(error).__name__}: {error}); "
                                                       "this is a bug in codeagent, the traceback is in the log.")
            raise
        finally:
            if self.lock is not None:
                self.lock.release()

    def work(self) -> Outcome:
        with self.log.group("Prepare the branch and the pull request"):
            self.prepare()
        with self.log.group("Build the prompt"):
            prompt = Task(self).prompt()
        with self.log.group("Set up the project"):
            ProjectSetup(self).set_up()
        with self.log.group(f"Run {self.sandbox.agent_title} in the sandbox"):
            self.implement(prompt)
        with self.log.group("Commit and push"):
            self.publish()
        with self.log.group("Report"):
            return Conclusion(self).report()

    # -- who asked --

    def refusal(self) -> str:
        """Why the request is refused ("" when it is not): no write access, or a pull request we cannot work on."""
        trigger = self.trigger
        if not self.github.can_write(trigger.actor):
            self.log.info(f"@{trigger.actor} has no write access to {trigger.repository}")
            return report.refusal_comment(trigger.actor, self.settings.trigger_phrase)
        if trigger.event_name == "workflow_dispatch":
            self.trigger = trigger = self.dispatched_subject()
        if not trigger.is_pull_request:
            return ""
        pull = self.github.pull_request(trigger.issue_number)
        self.pull = pull
        return refusal(pull, trigger.repository, trigger.default_branch)

    def dispatched_subject(self) -> Trigger:
        """A manual run names an issue or a pull request: which one, as GitHub has it now."""
        try:
            issue = self.github.issue(self.trigger.issue_number)
        except GitHubError as error:
            if "404" in str(error):
                raise SubjectNotFound(f"issue #{self.trigger.issue_number} does not exist in "
                                      f"{self.trigger.repository}; run the workflow again with the number of an "
                                      "open issue or pull request") from None
            raise
        return replace(self.trigger, subject=issue, is_pull_request=issue.is_pull_request)

    def refuse(self, why: str) -> Outcome:
        first = why.splitlines()[0]
        self.log.info(f"{first}; replying and stopping")
        self.reply(report.marked(why))
        return Outcome("skipped", self.trigger, message=first)

    def acknowledge(self) -> None:
        trigger = self.trigger
        if trigger.comment_id:
            self.github.react(trigger.issue_number, trigger.comment_id, "eyes",
                              review_comment=trigger.comment_kind == "review_comment")
        self.progress.start()

    # -- the branch and the prompt --

    def prepare(self) -> None:
        self.progress.phase(BRANCH_READY, Status.IN_PROGRESS)
        self.hold_branch()
        if self.trigger.is_pull_request:
            assert self.pull is not None
            target = for_pull_request(self.branches, self.pull)
        else:
            issue = conversation.subject(self.github, self.trigger, self.trigger.issue_number)
            base = self.settings.base_branch or self.trigger.default_branch
            target = for_issue(self.github, self.branches, issue, f"{self.settings.branch_prefix}issue-{issue.number}",
                               base, self.run_url)
        self.target = target
        self.branches.hand_to_agent(target.branch, target.tip)
        self.progress.pull_request(target.pull.html_url)
        if target.wip_title and target.new_pull:
            self.progress.note(report.NO_DRAFTS)
        self.progress.phase(BRANCH_READY, Status.DONE)
        self.log.info(f"branch {target.branch} at {target.tip[:12]}, pull request {target.pull.html_url}")

    def hold_branch(self) -> None:
        """Wait until no other run works on the branch, and hold it until this run ends (`execute` lets go)."""
        pull = self.pull if self.trigger.is_pull_request else None
        branch = pull.head if pull else f"{self.settings.branch_prefix}issue-{self.trigger.issue_number}"
        settings = self.settings
        # What the run may spend between two renewals of the lock (`renew_lock`), beside the agent's time:
        # before the agent, the image, the setup and the tests; while it works, the packer of a retry and the
        # tests after each round. The margin covers a devcontainer's own commands, not known yet.
        steps = max(2 + len(settings.setup), 2 + settings.verify_rounds)
        me = LockHolder(run_id_of(self.run_url), self.run_url, time.time(),
                        holding_limit_s(settings.timeout_minutes * 60, steps * STEP_TIMEOUT_S), self.run_attempt)
        self.lock = BranchLock(self.branches, branch, me, self.progress, self.log.info, self.clock)
        if not self.lock.acquire(settings.timeout_minutes * 60):
            return
        self.branches.forget_default_branch()  # it may have moved meanwhile, and so may the pull request
        if pull:
            self.pull = self.github.pull_request(pull.number)
            why = refusal(self.pull, self.trigger.repository, self.trigger.default_branch)
            if why:
                raise PullRequestChanged(f"While this run waited for the branch: {why.strip()}")

    # -- the sandbox --

    def implement(self, prompt: str) -> None:
        self.progress.phase(AGENT_WORKING, Status.IN_PROGRESS)
        self.renew_lock()
        self.sandbox.ready_packer(self.require_target().tip, self.started_wall, self.settings.caps())
        resume = self.restore_session()
        try:
            run = self.run_agent(prompt, resume)
            if self.should_retry(run):
                self.log.warning(f"the agent failed without changing anything ({first_line(run.problem, 200)}); "
                                 "trying once more with a simpler prompt")
                run = self.run_agent(report.simpler_prompt(prompt, run.problem), None)
            self.agent_run = run
            self.verify_and_repair(prompt)
        except CodeagentError as error:  # cancelled, or the sandbox failed: keep what the agent wrote
            what = "Cancelled" if isinstance(error, Cancelled) else "Stopped by an error"
            self.save_work(f"{what} while the agent was working; what it wrote so far.")
            raise

    def run_agent(self, prompt: str, resume: str | None) -> AgentRun:
        remaining = self.settings.timeout_minutes * 60 - self.agent_seconds
        started = time.monotonic()
        try:
            run = self.sandbox.run_agent(prompt, resume, max(remaining, 1.0), self.activity)
        finally:
            self.agent_seconds += time.monotonic() - started
        self.progress.stats(run.usage.turns, run.usage.cost_usd)
        self.log.info(run.problem or f"done in {run.usage.turns} turns")
        return run

    def activity(self, line: str) -> None:
        self.log.info(line)
        self.progress.activity(line)
        usage = self.sandbox.usage
        self.progress.stats(usage.turns, usage.cost_usd)

    def should_retry(self, run: AgentRun) -> bool:
        """A failure (not a limit, not out of memory, not under a budget) that left no change: one more try."""
        if run.succeeded or run.limit or run.exit.oom_killed or self.settings.max_cost_usd is not None:
            return False
        self.change = self.pack_change()
        return self.change.commit is None

    def verify_and_repair(self, prompt: str) -> None:
        """The tests after the agent; when its change broke them, more rounds with the failure in the prompt."""
        verification, run = self.verification, self.agent_run
        if verification is None or not verification.command or run is None or not run.succeeded:
            return
        after = self.run_step("tests after the agent", verification.command)
        self.verification = verification = replace(verification, after=after)
        while verification.broke and verification.rounds < self.settings.verify_rounds and self.can_go_on():
            session = run.session_id or None
            repair = report.repair_prompt(verification, prompt if not session else "")
            run = self.agent_run = self.run_agent(repair, session)
            after = self.run_step("tests after the agent", verification.command)
            self.verification = verification = replace(verification, after=after, rounds=verification.rounds + 1)

    def can_go_on(self) -> bool:
        usage, settings = self.sandbox.usage, self.settings
        within_cost = settings.max_cost_usd is None or usage.cost_usd < settings.max_cost_usd
        within_time = self.agent_seconds < settings.timeout_minutes * 60
        return self.agent_run is not None and self.agent_run.succeeded and within_cost and within_time \
            and usage.turns < settings.max_turns

    def run_step(self, name: str, command: str) -> StepResult:
        self.log.info(f"{name}: {command}")
        result = self.sandbox.run_command(command, STEP_TIMEOUT_S, self.log.info)
        self.log.info(f"{name}: " + ("passed" if result.ok else f"failed (exit code {result.exit_code})"))
        return result

    # -- commit and push --

    def renew_lock(self) -> None:
        if self.lock is not None:
            self.lock.renew()

    def publish(self) -> None:
        self.renew_lock()
        self.change = self.pack_change()
        self.push(self.change)

    def pack_change(self) -> Change:
        target = self.require_target()
        out = self.sandbox.pack(target.tip, self.started_wall, self.settings.caps())
        message = report.commit_message(target, self.trigger, self.summary(), self.sandbox.agent_title,
                                        run_id_of(self.run_url))
        return self.branches.commit_change(out, target.tip, message, self.settings.caps())

    def push(self, change: Change) -> None:
        target = self.require_target()
        note = self.session_note()
        commit = change.commit.sha if change.commit else None
        if commit is None and note is None:
            return
        self.pushed = self.branches.push(target.branch, commit or target.tip, target.tip, note)
        if commit:
            self.progress.phase(CHANGES_PUSHED, Status.DONE)
            self.log.info(f"pushed {self.pushed[:12]} to {target.branch}")

    def save_work(self, message: str) -> None:
        """Push what the agent wrote before a failure; a failure to do so is said, never raised over the first."""
        if self.target is None:
            return
        try:
            target = self.target
            out = self.sandbox.pack(target.tip, self.started_wall, self.settings.caps())
            self.change = self.branches.commit_change(out, target.tip, report.save_message(target, message),
                                                      self.settings.caps())
            if self.change.commit:
                self.pushed = self.branches.push(target.branch, self.change.commit.sha, target.tip, None)
                self.progress.phase(CHANGES_PUSHED, Status.DONE)
        except (CodeagentError, OSError) as error:
            self.log.warning(f"could not save the agent's work: {error}; its files are still in the runner's checkout")

    def restore_session(self) -> str | None:
        """The session an earlier run on this branch kept, ready to resume; None to start afresh."""
        target = self.require_target()
        if target.new_branch:
            return None
        try:
            session = self.sandbox.restore_session(self.branches.read_note(target.branch))
        except GitError as error:
            self.log.warning(f"could not read the kept session, starting afresh: {error}")
            return None
        self.log.info(f"resuming session {session}" if session else "no earlier session on this branch")
        return session

    def session_note(self) -> str | None:
        if self.agent_run is None:
            return None
        note = self.sandbox.session_note(self.agent_run)
        if note is not None:
            self.log.info(f"keeping session {self.agent_run.session_id} in {NOTES_REF}{self.require_target().branch}")
        return note

    # -- helpers --

    def reply(self, body: str) -> None:
        """Answer in the review thread for a review comment, in the conversation otherwise."""
        context = self.trigger.review_context
        if context is not None:
            self.github.reply_to_review_comment(self.trigger.issue_number, context.thread_comment_id, body)
        else:
            self.github.comment(self.trigger.issue_number, body)

    def summary(self) -> str:
        return self.agent_run.summary if self.agent_run else ""

    def require_target(self) -> Target:
        if self.target is None:
            raise SandboxError("the run has no branch yet. This is a bug in codeagent; please report it.")
        return self.target
