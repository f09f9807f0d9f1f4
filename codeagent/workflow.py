"""The run, top to bottom: who asked, acknowledge, branch, prompt, agent, commit, report.

Adapters come in as arguments (GitHub, the checkout, the agent), so tests pass
small fakes; each phase is a log group and its detail lives in a helper below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from codeagent import report
from codeagent.agent.sandboxed import AgentRun
from codeagent.errors import Cancelled, CodeagentError
from codeagent.event import Trigger
from codeagent.git import Commit
from codeagent.github_client import Comment, GitHubClient, Issue, PullRequest
from codeagent.log import Log
from codeagent.progress import AGENT_WORKING, BRANCH_READY, CHANGES_PUSHED, PR_READY, ProgressComment, Status
from codeagent.prompt import IssueThread, ThreadComment, build_prompt
from codeagent.settings import Settings


class Agent(Protocol):
    def preflight(self) -> None: ...

    def run(self, prompt: str, progress: ProgressComment | None = None) -> AgentRun: ...


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
    """Implement the issue ``trigger`` names and open or update its pull request."""
    with log.group("Check who asked"):
        if not github.can_write(trigger.actor):
            log.info(f"@{trigger.actor} has no write access to {trigger.repository}; replying and stopping")
            github.comment(trigger.issue_number, report.refusal_comment(trigger.actor, settings.trigger_phrase))
            return Outcome("skipped", trigger, message=f"@{trigger.actor} may not use {settings.trigger_phrase}")
        agent.preflight()
    with log.group("Acknowledge"):
        if trigger.comment_id:
            github.react(trigger.issue_number, trigger.comment_id, "eyes")
        progress = ProgressComment(github, trigger.issue_number, run_url, on_error=log.warning)
        progress.start()
    try:
        return implement(trigger, settings, github, workspace, agent, log, progress)
    except CodeagentError as error:
        progress.finish("cancelled" if isinstance(error, Cancelled) else "failure", reason=str(error))
        return Outcome("failure", trigger, message=str(error), title=error.title)


def implement(trigger: Trigger, settings: Settings, github: GitHubClient, workspace, agent: Agent,
              log: Log, progress: ProgressComment) -> Outcome:
    """Branch, draft PR, prompt, agent, commit, push, report: the work after the acknowledgement."""
    with log.group("Prepare the branch and the draft pull request"):
        progress.phase(BRANCH_READY, Status.IN_PROGRESS)
        issue = github.issue(trigger.issue_number)
        branch = f"{settings.branch_prefix}issue-{issue.number}"
        base = settings.base_branch or workspace.current_branch() or github.default_branch()
        prepare_branch(workspace, branch, base, issue.number)
        pull = open_draft_pull_request(github, issue, branch, base, progress.run_url)
        progress.pull_request(pull.html_url)
        progress.phase(BRANCH_READY, Status.DONE)
        log.info(f"branch {branch}, draft pull request {pull.html_url}")
    with log.group("Build the prompt"):
        thread = issue_thread(issue, github.comments(issue.number), trigger.comment_id)
        prompt = build_prompt(thread, trigger.instructions, trigger.repository, branch, settings.prompt_template)
        log.info(f"{len(prompt)} characters, {len(thread.comments)} earlier comments")
    with log.group("Run Claude Code in the sandbox"):
        progress.phase(AGENT_WORKING, Status.IN_PROGRESS)
        agent_run = run_agent(workspace, agent, prompt, progress, branch, issue)
        log.info(agent_run.problem or f"done in {agent_run.result.num_turns} turns")
    with log.group("Commit and push"):
        commit = commit_and_push(workspace, branch, issue, agent_run.result.summary)
        if commit:
            progress.phase(CHANGES_PUSHED, Status.DONE)
    with log.group("Report"):
        return report_outcome(github, trigger, issue, pull, agent_run, commit, branch, progress)


def run_agent(workspace, agent: Agent, prompt: str, progress: ProgressComment, branch: str,
              issue: Issue) -> AgentRun:
    """The agent's run, with the checkout's token hidden; on cancel, what it wrote is pushed."""
    try:
        with workspace.without_credentials():
            return agent.run(prompt, progress)
    except Cancelled:
        commit_and_push(workspace, branch, issue, "Cancelled while the agent was working; what it wrote so far.")
        raise


def prepare_branch(workspace, branch: str, base: str, issue_number: int) -> None:
    """Check out ``branch`` (continuing it if it exists remotely) and push a first commit."""
    with workspace.authenticated():
        if workspace.fetch_branch(branch):
            workspace.start_branch(branch, f"origin/{branch}")
            return
        workspace.start_branch(branch, base)
        workspace.commit_empty(report.initial_commit_message(issue_number))
        workspace.push(branch)


def open_draft_pull_request(github: GitHubClient, issue: Issue, branch: str, base: str,
                            run_url: str) -> PullRequest:
    """The branch's open pull request, or a new draft one."""
    existing = github.find_pull_request(branch)
    if existing and existing.state == "open":
        return existing
    body = report.draft_pr_body(issue.number, run_url)
    return github.create_pull_request(issue.title, body, branch, base, draft=True)


def issue_thread(issue: Issue, comments: list[Comment], trigger_comment_id: int | None) -> IssueThread:
    """The issue and the comments before the trigger comment (which is the task itself)."""
    earlier = []
    for comment in comments:
        if comment.id == trigger_comment_id:
            break
        earlier.append(ThreadComment(comment.author, comment.body, is_bot=comment.author_is_bot))
    return IssueThread(issue.number, issue.title, issue.body, issue.author, tuple(earlier))


def commit_and_push(workspace, branch: str, issue: Issue, summary: str) -> Commit | None:
    """Commit what the agent left in the checkout, whatever the outcome, and push it."""
    message = report.commit_message(issue.number, issue.title, summary)
    commit = workspace.commit_all(message)
    if commit is not None:
        with workspace.authenticated():
            workspace.push(branch)
    return commit


def report_outcome(github: GitHubClient, trigger: Trigger, issue: Issue, pull: PullRequest,
                   agent_run: AgentRun, commit: Commit | None, branch: str,
                   progress: ProgressComment) -> Outcome:
    """Update the pull request, and end the progress comment with how it went."""
    files = list(commit.files) if commit else []
    left_out = list(commit.left_out) if commit else []
    body = report.final_pr_body(issue.number, agent_run.result, files, left_out)
    progress.stats(agent_run.result.num_turns, agent_run.result.cost_usd)
    outcome = dict(trigger=trigger, branch=branch, pull_request=pull, agent=agent_run, commit=commit)
    if agent_run.problem:
        if commit:
            github.update_pull_request(pull.number, body=body)
        if agent_run.limit:
            progress.finish("limit", reason=_work_kept(commit, pull), limit=agent_run.limit)
        else:
            progress.finish("failure", reason=f"{agent_run.problem}\n\n{_work_kept(commit, pull)}")
        return Outcome("failure", message=agent_run.problem, title="The agent did not finish", **outcome)
    if commit is None:
        github.update_pull_request(pull.number, state="closed")
        progress.finish("no-changes")
        return Outcome("no-changes", message="the agent changed no files", **outcome)
    github.update_pull_request(pull.number, body=body)
    github.mark_ready_for_review(pull.number)
    progress.phase(PR_READY, Status.DONE)
    progress.finish("success")
    return Outcome("success", **outcome)


def _work_kept(commit: Commit | None, pull: PullRequest) -> str:
    if commit is None:
        return "The agent changed no files before it stopped."
    return f"What it wrote ({len(commit.files)} files) is pushed to the draft pull request {pull.html_url}."
