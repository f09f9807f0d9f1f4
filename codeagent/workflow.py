"""The run, top to bottom: who asked, acknowledge, branch, prompt, agent, commit, report.

The same run serves `/code` on an issue and a follow-up on a pull request (a comment,
a review comment, a review); ``targets`` holds what differs between the two.

Adapters come in as arguments (GitHub, the checkout, the agent), so tests pass
small fakes; each phase is a log group and its detail lives in a helper below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from codeagent import report
from codeagent.agent.sandboxed import AgentRun
from codeagent.agent.sessions import notes_ref
from codeagent.errors import Cancelled, CodeagentError, ConfigError, GitError
from codeagent.event import Trigger
from codeagent.git import Commit
from codeagent.github_client import GitHubClient, PullRequest
from codeagent.log import Log
from codeagent.progress import AGENT_WORKING, BRANCH_READY, CHANGES_PUSHED, PR_READY, ProgressComment, Status
from codeagent.settings import Settings
from codeagent.targets import Target, follow_up_prompt, issue_prompt, prepare_follow_up, prepare_issue


class Agent(Protocol):
    def preflight(self) -> None: ...

    def restore(self, note: str | None) -> str | None: ...

    def run(self, prompt: str, progress: ProgressComment | None = None, resume: str | None = None) -> AgentRun: ...

    def session_note(self, run: AgentRun) -> str | None: ...


@dataclass(frozen=True)
class Outcome:
    """How a run ended, for the outputs, the step summary and the exit code."""

    result: str
    """``success``, ``no-changes``, ``failure`` or ``skipped``."""
    trigger: Trigger
    message: str = ""
    title: str = ""
    """Heading of a failure (the error's title), for the annotation and the summary."""
    branch: str = ""
    pull_request: PullRequest | None = None
    agent: AgentRun | None = None
    commit: Commit | None = None


def run(trigger: Trigger, settings: Settings, github: GitHubClient, workspace, agent: Agent,
        log: Log, run_url: str) -> Outcome:
    """Implement what ``trigger`` asks for and open or update its pull request."""
    with log.group("Check who asked"):
        if not github.can_write(trigger.actor):
            log.info(f"@{trigger.actor} has no write access to {trigger.repository}; replying and stopping")
            reply_where_asked(github, trigger, report.refusal_comment(trigger.actor, settings.trigger_phrase))
            return Outcome("skipped", trigger, message=f"@{trigger.actor} may not use {settings.trigger_phrase}")
        pull = github.pull_request(trigger.issue_number) if trigger.is_pull_request else None
        refusal = pull and pull_request_refusal(pull, trigger, github)
        if refusal:
            log.info(f"#{pull.number}: {refusal.splitlines()[0]}; replying and stopping")
            reply_where_asked(github, trigger, refusal)
            return Outcome("skipped", trigger, message=refusal.splitlines()[0])
        check_checkout_is_clean(workspace)
        agent.preflight()
    with log.group("Acknowledge"):
        if trigger.comment_id:
            github.react(trigger.issue_number, trigger.comment_id, "eyes",
                         review_comment=trigger.comment_kind == "review_comment")
        progress = ProgressComment(github, trigger.issue_number, run_url, on_error=log.warning)
        progress.start()
    reached = Reached()
    try:
        return implement(trigger, settings, github, workspace, agent, log, progress, pull, reached)
    except Exception as error:
        if not isinstance(error, CodeagentError):  # a bug: say so where the user looks, then let main log it
            progress.finish("failure", reason=f"Unexpected error ({type(error).__name__}: {error}); "
                                              "this is a bug in codeagent, the traceback is in the log.")
            raise Reported(error) from error
        progress.finish("cancelled" if isinstance(error, Cancelled) else "failure", reason=str(error))
        target = reached.target
        return Outcome("failure", trigger, message=str(error), title=error.title,
                       branch=target.branch if target else "", pull_request=target.pull if target else None)


class Reported(Exception):
    """An unexpected error already said in the progress comment (no second comment needed)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Reached:
    """How far a run got, for the outputs of one that fails halfway."""

    target: Target | None = None


def implement(trigger: Trigger, settings: Settings, github: GitHubClient, workspace, agent: Agent,
              log: Log, progress: ProgressComment, pull: PullRequest | None, reached: Reached) -> Outcome:
    """Branch and pull request, prompt, agent, commit, push, report: the work after the acknowledgement."""
    with log.group("Prepare the branch and the pull request"):
        progress.phase(BRANCH_READY, Status.IN_PROGRESS)
        if pull is None:
            target = prepare_issue(github, workspace, settings, trigger, progress.run_url)
        else:
            target = prepare_follow_up(workspace, pull)
        reached.target = target
        progress.pull_request(target.pull.html_url)
        progress.phase(BRANCH_READY, Status.DONE)
        log.info(f"branch {target.branch}, pull request {target.pull.html_url}")
    with log.group("Build the prompt"):
        build = follow_up_prompt if target.follow_up else issue_prompt
        prompt = build(github, trigger, target, settings)
        log.info(f"{len(prompt)} characters")
    with log.group("Run Claude Code in the sandbox"):
        progress.phase(AGENT_WORKING, Status.IN_PROGRESS)
        resume = restore_session(workspace, agent, target, log)
        agent_run = run_agent(workspace, agent, prompt, progress, target, resume, settings, log)
        log.info(agent_run.problem or f"done in {agent_run.result.num_turns} turns")
    with log.group("Commit and push"):
        commit = commit_and_push(workspace, target, agent_run.result.summary)
        if commit:
            progress.phase(CHANGES_PUSHED, Status.DONE)
        keep_session(workspace, agent, target, agent_run, log)
    with log.group("Report"):
        if commit is None and not agent_run.problem and target.new_pull:
            close_empty_pull_request(github, workspace, settings, target, log)
        return report_outcome(github, trigger, target, agent_run, commit, progress)


def run_agent(workspace, agent: Agent, prompt: str, progress: ProgressComment, target: Target,
              resume: str | None, settings: Settings, log: Log) -> AgentRun:
    """The agent's run; a failure that changed nothing is tried once more with a simpler prompt."""
    agent_run = run_agent_once(workspace, agent, prompt, progress, target, resume)
    # Not with a budget: a second attempt would get a whole budget of its own.
    if settings.max_cost_usd is None and failed_without_work(agent_run, workspace):
        log.warning(f"the agent failed without changing anything ({agent_run.problem.splitlines()[0]}); "
                    "trying once more with a simpler prompt")
        agent_run = run_agent_once(workspace, agent, simpler_prompt(prompt, agent_run), progress, target, None)
    return agent_run


def run_agent_once(workspace, agent: Agent, prompt: str, progress: ProgressComment, target: Target,
                   resume: str | None) -> AgentRun:
    """The agent's run, with the checkout's token hidden; on cancel, what it wrote is pushed."""
    try:
        with workspace.without_credentials():
            return agent.run(prompt, progress, resume)
    except CodeagentError as error:  # cancelled, or the sandbox failed: keep what the agent wrote
        what = "Cancelled" if isinstance(error, Cancelled) else "Stopped by an error"
        if commit_and_push(workspace, target, f"{what} while the agent was working; what it wrote so far."):
            progress.phase(CHANGES_PUSHED, Status.DONE)
        raise


def pull_request_refusal(pull: PullRequest, trigger: Trigger, github: GitHubClient) -> str:
    """Why a follow-up on ``pull`` cannot be done ("" when it can): a fork, a closed pull request,
    or a head that is the default branch (the agent's commit would land there directly)."""
    if pull.head_repository != trigger.repository:
        return report.fork_comment(pull.head_repository)
    if pull.state != "open":
        return report.closed_pull_request_comment(pull.merged)
    if pull.head == github.default_branch():
        return report.default_branch_head_comment(pull.head)
    return ""


def check_checkout_is_clean(workspace) -> None:
    """Refuse a checkout an earlier step changed: its changes would be committed as the agent's."""
    dirty = workspace.dirty_paths()
    if dirty:
        shown = ", ".join(f"`{path}`" for path in dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise ConfigError(
            f"the checkout has changes from an earlier step of the job ({shown}); codeagent commits "
            "everything that changed, so they would land in the pull request as the agent's work. "
            "Run codeagent right after actions/checkout, or commit, stash or .gitignore those files "
            "in the step that makes them.")


def failed_without_work(agent_run: AgentRun, workspace) -> bool:
    """A failed run (not stopped at a limit, not out of memory) that left no change: worth one retry."""
    failed = agent_run.result.is_error and not agent_run.limit and not agent_run.exit.oom_killed
    return failed and not workspace.dirty_paths()


def simpler_prompt(prompt: str, failed: AgentRun) -> str:
    """The retry's prompt: what went wrong first, and the most direct way through."""
    return ("A first attempt at the task below stopped with an error before changing anything "
            f"({failed.problem.splitlines()[0]}). Try again, taking the most direct route: make the "
            "smallest change that does what is asked, check it, and end with a short summary.\n\n" + prompt)


def close_empty_pull_request(github: GitHubClient, workspace, settings: Settings, target: Target, log: Log) -> None:
    """Nothing changed: close the draft opened for it and delete a branch holding only the first
    commit, unless `on-no-changes: keep`."""
    if settings.on_no_changes == "keep":
        log.info(f"no changes; the draft pull request {target.pull.html_url} stays open (on-no-changes: keep)")
        return
    github.update_pull_request(target.pull.number, state="closed")
    if target.new_branch:
        workspace.delete_remote_branch(target.branch)
    log.info(f"no changes; closed {target.pull.html_url}" + (f" and deleted {target.branch}" if target.new_branch else ""))


def restore_session(workspace, agent: Agent, target: Target, log: Log) -> str | None:
    """The session an earlier run on this branch kept, ready to resume; None to start afresh."""
    try:
        session = agent.restore(workspace.read_note(notes_ref(target.branch)))
    except GitError as error:
        log.warning(f"could not read the kept session, starting afresh: {error}")
        return None
    log.info(f"resuming session {session}" if session else "no earlier session on this branch")
    return session


def keep_session(workspace, agent: Agent, target: Target, agent_run: AgentRun, log: Log) -> None:
    """Keep the agent's session with the branch for the next run (best effort)."""
    note = agent.session_note(agent_run)
    if note is None:
        return
    try:
        workspace.write_note(notes_ref(target.branch), note)
        log.info(f"session {agent_run.result.session_id} kept in {notes_ref(target.branch)}")
    except GitError as error:
        log.warning(f"could not keep the session for the next run: {error}")


def commit_and_push(workspace, target: Target, summary: str) -> Commit | None:
    """Commit what the agent left in the checkout, whatever the outcome, and push it."""
    commit = workspace.commit_all(report.commit_message(target.number, target.title, summary))
    if commit is not None:
        with workspace.authenticated():
            workspace.push(target.branch)
    return commit


def report_outcome(github: GitHubClient, trigger: Trigger, target: Target, agent_run: AgentRun,
                   commit: Commit | None, progress: ProgressComment) -> Outcome:
    """Update the pull request, and end the progress comment with how it went."""
    pull, result = target.pull, agent_run.result
    progress.stats(result.num_turns, result.cost_usd)
    outcome = dict(trigger=trigger, branch=target.branch, pull_request=pull, agent=agent_run, commit=commit)
    if agent_run.problem:
        if commit and not target.follow_up:
            github.update_pull_request(pull.number, body=_pull_request_body(target, result, commit))
        if agent_run.limit:
            progress.finish("limit", reason=_work_kept(commit, pull), limit=agent_run.limit)
        else:
            progress.finish("failure", reason=f"{agent_run.problem}\n\n{_work_kept(commit, pull)}")
        return Outcome("failure", message=agent_run.problem, title="The agent did not finish", **outcome)
    if commit is None:
        progress.finish("no-changes")
        return Outcome("no-changes", message="the agent changed no files", **outcome)
    if target.follow_up:
        if trigger.review_context is not None:
            reply_where_asked(github, trigger, report.follow_up_reply(result.summary, list(commit.files)))
    else:
        github.update_pull_request(pull.number, body=_pull_request_body(target, result, commit))
        github.mark_ready_for_review(pull.number)
    progress.phase(PR_READY, Status.DONE)
    # A follow-up's pull request body stays as it was: what this run changed is said here.
    progress.finish("success", reason=result.summary if target.follow_up else "")
    return Outcome("success", **outcome)


def _pull_request_body(target: Target, result, commit: Commit) -> str:
    return report.final_pr_body(target.number, result, list(commit.files), list(commit.left_out))


def reply_where_asked(github: GitHubClient, trigger: Trigger, body: str) -> None:
    """Answer in the review thread for a review comment, in the conversation otherwise."""
    if trigger.review_context is not None:
        github.reply_to_review_comment(trigger.issue_number, trigger.review_context.thread_comment_id, body)
    else:
        github.comment(trigger.issue_number, body)


def _work_kept(commit: Commit | None, pull: PullRequest) -> str:
    if commit is None:
        return "The agent changed no files before it stopped."
    return f"What it wrote ({len(commit.files)} files) is pushed to the draft pull request {pull.html_url}."
