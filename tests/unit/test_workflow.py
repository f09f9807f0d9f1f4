"""The whole run with fakes for GitHub, the checkout and the agent: what a user sees, in order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from codeagent import workflow
from codeagent.errors import ConfigError, GitHubError, SandboxError
from codeagent.event import Trigger
from codeagent.git import Commit
from codeagent.github_client import Comment, Issue
from codeagent.log import Log
from codeagent.sandbox import SandboxExit
from codeagent.settings import Settings
from tests.unit.fakes import FakeAgent, FakeGitHub, FakeWorkspace, agent_run

BRANCH = "codeagent/issue-7"
RUN_URL = "https://github.com/octo-org/textstats/actions/runs/42"
TRIGGER_ID = 2590000001
ISSUE = Issue(7, "Add a word_count helper", "Please add `word_count(text)` with a test.", "octo-owner",
              "https://github.com/octo-org/textstats/issues/7", locked=False, is_pull_request=False)
THREAD = [
    Comment(2590000000, "contributor", False, "It should split on any whitespace.", "https://x/1"),
    Comment(2590000002, "github-actions[bot]", True, "Earlier bot status: working on it", "https://x/2"),
    Comment(TRIGGER_ID, "octo-owner", False, "/code keep the implementation to one line", "https://x/3"),
    Comment(2590000003, "latecomer", False, "Also count emoji as words please", "https://x/4"),
]
CHANGES = Commit("a" * 40, ("tests/test_word_count.py", "textstats/__init__.py"), ())


def trigger(actor: str = "octo-owner") -> Trigger:
    return Trigger("issue_comment", "octo-org/textstats", 7, actor, "keep the implementation to one line",
                   TRIGGER_ID, False)


def settings(**values) -> Settings:
    return Settings(github_token="ghs_token", anthropic_api_key="sk-ant-key", **values)


@dataclass
class Run:
    """One run's fakes, sharing a journal of what happened in order."""

    github: FakeGitHub
    workspace: FakeWorkspace
    agent: FakeAgent
    journal: list[str]

    def __call__(self, actor: str = "octo-owner", **setting_values) -> workflow.Outcome:
        return workflow.run(trigger(actor), settings(**setting_values), self.github, self.workspace,
                            self.agent, Log(), RUN_URL)

    @property
    def comments(self) -> list[str]:
        return [body for number, body in self.github.posted if number == 7]

    @property
    def pull(self):
        (pull,) = self.github.pulls.values()
        return pull


def fakes(result=None, changes: Commit | None = CHANGES, current_branch: str | None = "main",
          remote_branches: frozenset[str] = frozenset(), roles: dict[str, str] | None = None,
          default_branch: str = "main") -> Run:
    journal: list[str] = []
    github = FakeGitHub(ISSUE, THREAD, roles if roles is not None else {"octo-owner": "admin"},
                        default_branch=default_branch, journal=journal)
    workspace = FakeWorkspace(current_branch, set(remote_branches), changes, journal=journal)
    agent = FakeAgent(result or agent_run(), workspace, journal=journal)
    return Run(github, workspace, agent, journal)


# -- who may ask --

@pytest.mark.parametrize("role", ["read", "triage", "none"])
def test_someone_without_write_access_gets_a_polite_no_and_nothing_else(role):
    run = fakes(roles={"octo-owner": "admin", "drive-by": role})

    outcome = run(actor="drive-by")

    assert outcome.result == "skipped"
    assert "@drive-by" in outcome.message
    (comment,) = run.comments
    assert "@drive-by" in comment and "only people with write access" in comment and "`/code`" in comment
    assert run.github.reactions == [] and run.github.pulls == {}
    assert run.workspace.started == [] and run.workspace.pushed == {}
    assert run.agent.prompts == []


def test_the_refusal_names_the_configured_trigger_phrase():
    run = fakes(roles={})

    run(actor="drive-by", trigger_phrase="@agent")

    assert "`@agent`" in run.comments[0]


@pytest.mark.parametrize("role", ["admin", "maintain", "write"])
def test_anyone_with_write_access_is_served(role):
    run = fakes(roles={"octo-owner": role})

    assert run().result == "success"
    assert run.github.reactions == [(7, TRIGGER_ID, "eyes")]


# -- the whole successful run --

def test_a_successful_run_opens_a_ready_pull_request_and_links_it():
    run = fakes()

    outcome = run()

    pull = run.pull
    assert outcome.result == "success" and outcome.branch == BRANCH and outcome.commit == CHANGES
    assert outcome.pull_request.number == pull.number
    assert run.github.reactions == [(7, TRIGGER_ID, "eyes")]
    assert (pull.head, pull.base, pull.title, pull.state, pull.draft) == (BRANCH, "main", ISSUE.title, "open", False)
    assert pull.body.startswith("Closes #7")
    assert "Added `word_count(text)`" in pull.body
    assert "- `textstats/__init__.py`" in pull.body and "- `tests/test_word_count.py`" in pull.body
    (comment,) = run.comments  # the progress comment, in its final state
    assert pull.html_url in comment and "ready for review" in comment
    assert "5 turns" in comment and "$0.12" in comment and RUN_URL in comment
    assert comment.count("✅") == 5  # the headline and the four phases
    assert run.workspace.pushed == {BRANCH: ["codeagent: received #7, preparing to implement",
                                             run.workspace.commits[-1]]}
    assert run.workspace.commits[-1].startswith("codeagent: Add a word_count helper (#7)")


def test_the_steps_happen_in_the_order_a_watcher_expects():
    run = fakes()

    run()

    pull = run.pull.number
    # The progress comment may be edited along the way (throttled); its last edit ends the run.
    journal = [entry for entry in run.journal if entry != "edit comment 9001"] + ["edit comment 9001"]
    assert journal == [
        "preflight",
        "react eyes",
        "comment on #7",
        "commit 'codeagent: received #7, preparing to implement'",
        f"push {BRANCH}",
        f"open draft pull request #{pull}",
        "agent runs",
        "commit 'codeagent: Add a word_count helper (#7)'",
        f"push {BRANCH}",
        f"note refs/notes/codeagent/{BRANCH}",
        f"update pull request #{pull}",
        f"ready pull request #{pull}",
        "edit comment 9001",
    ]
    assert run.journal[-1] == "edit comment 9001"


def test_the_draft_pull_request_says_what_it_will_close_while_the_agent_works():
    run = fakes()
    bodies = []
    run.agent.run = lambda prompt, progress, resume: bodies.append(run.pull.body) or agent_run()  # look now

    run()

    (draft_body,) = bodies
    assert draft_body.startswith("Closes #7") and "Work in progress" in draft_body


def test_the_agent_runs_with_the_checkouts_token_hidden():
    run = fakes()

    run()

    assert run.agent.credentials_during_run == ["hidden"]
    assert run.workspace.credentials == "persisted"  # put back afterwards


def test_the_prompt_holds_the_issue_and_the_earlier_human_comments_only():
    run = fakes()

    run()

    (prompt,) = run.agent.prompts
    assert ISSUE.title in prompt and ISSUE.body in prompt
    assert "It should split on any whitespace." in prompt and 'author="contributor"' in prompt
    assert "keep the implementation to one line" in prompt  # as the instructions
    assert "/code keep" not in prompt  # the trigger comment is not a thread comment
    assert "Earlier bot status" not in prompt  # bots' comments are left out
    assert "emoji" not in prompt  # comments after the trigger are not part of the request
    assert BRANCH in prompt


@pytest.mark.parametrize("current, base_input, expected", [
    ("main", "", "main"),
    ("feature/x", "", "feature/x"),
    (None, "", "trunk"),  # detached HEAD: the repository's default branch
    ("main", "develop", "develop"),
])
def test_the_branch_starts_from_the_checkouts_branch_unless_base_branch_says_otherwise(current, base_input,
                                                                                         expected):
    run = fakes(current_branch=current, default_branch="trunk")

    run(base_branch=base_input)

    assert run.workspace.started == [(BRANCH, expected)]
    assert run.pull.base == expected


def test_the_branch_prefix_is_configurable():
    run = fakes()

    outcome = run(branch_prefix="bots/")

    assert outcome.branch == "bots/issue-7" and run.pull.head == "bots/issue-7"


def test_an_open_pull_request_for_the_branch_is_continued_not_duplicated():
    run = fakes(remote_branches=frozenset({BRANCH}))
    existing = run.github.add_pull(BRANCH, draft=True)
    run.workspace.pushed[BRANCH] = ["codeagent: received #7, preparing to implement", "earlier work"]

    outcome = run()

    assert list(run.github.pulls) == [existing.number]
    assert outcome.pull_request.number == existing.number
    assert run.workspace.started == [(BRANCH, f"origin/{BRANCH}")]
    assert run.workspace.pushed[BRANCH][:2] == ["codeagent: received #7, preparing to implement", "earlier work"]
    assert len(run.workspace.pushed[BRANCH]) == 3  # no second "received" commit, the new work on top
    assert existing.draft is False and "Added `word_count(text)`" in existing.body
    assert existing.html_url in run.comments[0]


def test_a_closed_pull_request_for_the_branch_is_not_reopened_a_new_draft_is_opened():
    run = fakes()
    closed = run.github.add_pull(BRANCH, state="closed")

    outcome = run()

    assert outcome.pull_request.number != closed.number
    assert closed.state == "closed"
    assert run.github.pulls[outcome.pull_request.number].head == BRANCH


# -- nothing to commit --

def test_no_changes_closes_the_draft_and_says_so():
    run = fakes(changes=None, result=agent_run(summary="The function already exists; nothing to do."))

    outcome = run()

    assert outcome.result == "no-changes"
    assert run.pull.state == "closed"
    (comment,) = run.comments
    assert "No changes" in comment and "without changing any files" in comment
    assert run.workspace.pushed == {}  # the branch held only the first commit: deleted


def test_no_changes_with_on_no_changes_keep_leaves_the_draft_and_its_branch():
    run = fakes(changes=None)

    outcome = run(on_no_changes="keep")

    assert outcome.result == "no-changes"
    assert run.pull.state == "open" and run.pull.draft is True
    assert run.workspace.pushed == {BRANCH: ["codeagent: received #7, preparing to implement"]}


def test_a_checkout_an_earlier_step_changed_is_refused_before_anything_happens():
    run = fakes()
    run.workspace.dirty = ["dist/app.js"]

    with pytest.raises(ConfigError, match="changes from an earlier step.*`dist/app.js`"):
        run()

    assert run.github.reactions == [] and run.github.pulls == {} and run.agent.prompts == []


def test_a_run_that_failed_without_changing_anything_is_retried_once_with_a_simpler_prompt():
    run = fakes(result=CRASHED, changes=None)

    outcome = run()

    first, second = run.agent.prompts
    assert second.startswith("A first attempt at the task below stopped with an error") and second.endswith(first)
    assert run.agent.resumed == [None, None]
    assert outcome.result == "failure"  # the fake fails the same way twice


# -- the agent stops early or fails --

MAX_TURNS = agent_run(is_error=True, subtype="error_max_turns", num_turns=31, summary="Half way there.")
TIMED_OUT = agent_run(exit=SandboxExit(None, timed_out=True, stopped=True, oom_killed=False, stderr_tail=()),
                      is_error=True, subtype="no_result")
CRASHED = agent_run(exit=SandboxExit(1, False, False, False, ("API Error: 529 overloaded",)),
                    is_error=True, subtype="error_during_execution", summary="")
BUDGET = agent_run(budget_reached=True, is_error=True, subtype="error_max_budget_usd")


@pytest.mark.parametrize("result, named", [
    (MAX_TURNS, "`max-turns`"),
    (TIMED_OUT, "`timeout-minutes`"),
    (BUDGET, "`max-cost-usd`"),
    (CRASHED, "Claude Code failed (error_during_execution, exit code 1)"),
])
def test_a_failed_run_keeps_its_work_on_the_draft_and_says_what_stopped_it(result, named):
    run = fakes(result=result)

    outcome = run()

    assert outcome.result == "failure" and named in outcome.message
    pull = run.pull
    assert pull.draft is True and pull.state == "open"
    assert pull.body.startswith("Closes #7") and "- `textstats/__init__.py`" in pull.body
    assert "Work in progress" not in pull.body
    assert len(run.workspace.pushed[BRANCH]) == 2  # the first commit and the work
    (comment,) = run.comments
    assert ("❌" in comment or "⚠️" in comment) and named in comment
    assert "2 files" in comment and pull.html_url in comment and RUN_URL in comment


def test_the_output_of_a_crashed_agent_is_in_the_failure_comment():
    run = fakes(result=CRASHED)

    run()

    assert "API Error: 529 overloaded" in run.comments[0]


def test_a_failed_run_without_work_pushes_nothing_more_and_leaves_the_draft_alone():
    run = fakes(result=MAX_TURNS, changes=None)

    outcome = run()

    assert outcome.result == "failure"
    assert run.workspace.pushed == {BRANCH: ["codeagent: received #7, preparing to implement"]}
    pull = run.pull
    assert pull.draft is True and pull.state == "open" and "Work in progress" in pull.body
    (comment,) = run.comments
    assert "`max-turns`" in comment and "changed no files" in comment and RUN_URL in comment
    assert "pushed to" not in comment  # nothing was


def test_a_run_from_workflow_dispatch_has_no_comment_to_react_to():
    run = fakes()
    dispatch = dataclasses.replace(trigger(), event_name="workflow_dispatch", comment_id=None, instructions="")

    outcome = workflow.run(dispatch, settings(), run.github, run.workspace, run.agent, Log(), RUN_URL)

    assert outcome.result == "success" and run.github.reactions == []
    assert "It should split on any whitespace." in run.agent.prompts[0]


def test_a_refused_pull_request_leaves_no_empty_branch_behind_and_says_why():
    run = fakes()

    def refuse(*args, **kwargs):
        raise GitHubError("opening the pull request: GitHub Actions is not permitted to create or approve "
                          "pull requests. Enable it under the repository's Settings")
    run.github.create_pull_request = refuse

    outcome = run()

    assert outcome.result == "failure" and outcome.branch == "" and "Settings" in outcome.message
    assert run.workspace.pushed == {}  # the branch with only the first commit is deleted again
    (comment,) = run.comments
    assert "not permitted to create or approve pull requests" in comment


def test_a_run_that_fails_after_the_pull_request_exists_still_names_it_in_its_outcome():
    run = fakes()

    def broken(*args, **kwargs):
        raise GitHubError("reading the issue's comments: GitHub answered 500")
    run.github.comments = broken

    outcome = run()

    assert outcome.result == "failure"
    assert outcome.branch == BRANCH and outcome.pull_request.number == run.pull.number


def test_what_the_agent_wrote_is_pushed_when_the_sandbox_fails_under_it():
    run = fakes()

    def sandbox_breaks(prompt, progress, resume):
        raise SandboxError("the sandbox container failed: 500 Server Error")
    run.agent.run = sandbox_breaks

    outcome = run()

    assert outcome.result == "failure" and "sandbox container failed" in outcome.message
    assert run.workspace.pushed[BRANCH][-1].startswith("codeagent: Add a word_count helper (#7)")


def test_no_second_attempt_when_a_budget_is_set():
    run = fakes(result=CRASHED, changes=None)

    run(max_cost_usd=5)

    assert len(run.agent.prompts) == 1


def test_an_unexpected_error_ends_the_progress_comment_and_is_not_said_twice():
    run = fakes()
    run.agent.run = lambda prompt, progress, resume: 1 / 0

    with pytest.raises(workflow.Reported):
        run()

    (comment,) = run.comments
    assert "Unexpected error (ZeroDivisionError" in comment and "🔄" not in comment
