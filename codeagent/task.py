"""The agent's task: the issue's thread, or a pull request's conversation and review for a follow-up,
as the prompt (comments edited after the request left out, and said so)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeagent import conversation
from codeagent.prompt import PullRequestThread, build_followup_prompt, build_prompt
from codeagent.target import Target, linked_issue_number

if TYPE_CHECKING:
    from codeagent.workflow import Run


class Task:
    """The prompt phase of one `Run`."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def prompt(self) -> str:
        """The prompt for this run's target, from what GitHub holds now."""
        target, trigger = self.run.require_target(), self.run.trigger
        if target.follow_up:
            text, edited = self.follow_up_prompt(target)
        else:
            issue = conversation.subject(self.run.github, trigger, target.number)
            thread = conversation.comments_for_prompt(self.run.github.comments(issue.number), trigger)
            if not target.new_pull:
                pull = conversation.comments_for_prompt(self.run.github.comments(target.pull.number), trigger, False)
                thread = conversation.Thread(thread.comments + pull.comments,
                                             thread.edited_after_request + pull.edited_after_request)
            edited = thread.edited_after_request
            text = build_prompt(conversation.issue_thread(issue, thread), trigger.instructions, trigger.repository,
                                target.branch, self.run.settings.prompt_template)
        if edited:
            self.run.progress.note(f"{edited} comment(s) edited after the request were left out of the agent's task.")
        self.run.log.info(f"{len(text)} characters")
        return text

    def follow_up_prompt(self, target: Target) -> tuple[str, int]:
        trigger, pull = self.run.trigger, target.pull
        talk = conversation.comments_for_prompt(self.run.github.comments(pull.number), trigger)
        review = conversation.comments_for_prompt(self.run.github.review_comments(pull.number), trigger, False)
        number = linked_issue_number(pull, self.run.settings.branch_prefix)
        linked, changed = conversation.linked_issue(self.run.github, number, trigger) if number else (None, False)
        if changed:
            self.run.progress.note(f"Issue #{number} changed after the request; its text was left out of the "
                                   "agent's task.")
        subject = conversation.subject(self.run.github, trigger, pull.number)
        thread = PullRequestThread(pull.number, subject.title, subject.body, pull.head, talk.comments + review.comments,
                                   linked)
        text = build_followup_prompt(thread, trigger.instructions, trigger.repository, trigger.review_context)
        return text, talk.edited_after_request + review.edited_after_request
