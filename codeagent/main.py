"""The entry point: the only reader of the environment.

It builds ``Settings`` and the ``Trigger``, wires the adapters, runs the workflow
and turns its outcome or a ``CodeagentError`` into outputs, a step summary, an
``::error::`` annotation, a comment where one fits, and the exit code.
"""

from __future__ import annotations

import json
import os
import signal
import traceback
from collections.abc import Mapping
from pathlib import Path

from actions_toolkit.file_command import prepare_key_value_message

from codeagent import report, workflow
from codeagent.agent.sandboxed import SandboxedClaude
from codeagent.errors import Cancelled, CodeagentError, ConfigError, EventError
from codeagent.event import Skip, Trigger, parse_event
from codeagent.git import Identity, Workspace
from codeagent.github_client import GitHubClient
from codeagent.log import Log
from codeagent.sandbox import Sandbox
from codeagent.settings import SECRET_FIELDS, Settings, input_name, load_settings, read_inputs, unknown_inputs

EXIT_OK, EXIT_FAILURE = 0, 1
SECRET_INPUTS = tuple(input_name(field) for field in SECRET_FIELDS)


class UnexpectedError(CodeagentError):
    """An exception codeagent did not expect: a bug; its traceback is in the log."""

    title = "Unexpected error"


def main(environ: Mapping[str, str] = os.environ) -> int:
    """Run the action once; returns the process exit code."""
    log = Log()
    try:
        settings, trigger = read_configuration(environ, log)
    except Exception as error:
        failure = expected(error, log)
        if isinstance(failure, ConfigError):
            _say_config_failure_where_asked(environ, failure, log)
        return finish(log, environ, None, failure=failure)
    if isinstance(trigger, Skip):
        log.info(f"Nothing to do: {trigger.reason}")
        write_outputs(environ, {"result": "skipped"})
        return EXIT_OK
    # The runner cancels a job with SIGINT, then SIGTERM (docker run passes both on to us).
    signal.signal(signal.SIGINT, _raise_cancelled)
    signal.signal(signal.SIGTERM, _raise_cancelled)
    github = GitHubClient(settings.github_token.get_secret_value(), trigger.repository,
                          environ.get("GITHUB_API_URL", "https://api.github.com"), on_wait=log.warning)
    try:
        outcome = run_workflow(settings, trigger, github, environ, log)
    except Exception as error:
        reported = isinstance(error, workflow.Reported)
        failure = expected(error.error if reported else error, log)
        if not reported:  # the progress comment already says it otherwise
            _comment_failure(github, trigger, failure, run_url(environ), log)
        return finish(log, environ, workflow.Outcome("failure", trigger, message=str(failure)), failure=failure)
    return finish(log, environ, outcome)


def expected(error: Exception, log: Log) -> CodeagentError:
    """``error`` as a CodeagentError; one we did not expect gets its traceback logged first."""
    if isinstance(error, CodeagentError):
        return error
    with log.group("Traceback of the unexpected error"):
        for line in "".join(traceback.format_exception(error)).splitlines():
            log.info(line)
    return UnexpectedError(f"{type(error).__name__}: {error}. This is a bug in codeagent, not in your setup; "
                           "please report it with the traceback from the log group "
                           "\"Traceback of the unexpected error\".")


def read_configuration(environ: Mapping[str, str], log: Log) -> tuple[Settings, Trigger | Skip]:
    """Settings from the inputs and the repo config file, and the event as a Trigger."""
    inputs = read_inputs(environ)
    for name in SECRET_INPUTS:  # masked before anything can fail and print them
        if inputs.get(name):
            log.mask(inputs[name])
    for name in unknown_inputs(inputs):
        log.warning(f"unknown input `{name}` is ignored; see action.yml for the inputs")
    workspace = Path(environ.get("GITHUB_WORKSPACE", "/github/workspace"))
    settings = load_settings(inputs, workspace, environ)
    for secret in settings.secrets():
        log.mask(secret)
    return settings, parse_event(environ.get("GITHUB_EVENT_NAME", ""), read_payload(environ), settings.trigger_phrase)


def read_payload(environ: Mapping[str, str]) -> dict:
    """The event payload the runner wrote to GITHUB_EVENT_PATH."""
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise EventError("GITHUB_EVENT_PATH is not set: run codeagent as a step of a GitHub Actions workflow")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as error:
        raise EventError(f"cannot read the event payload {path}: {error}") from error
    if not isinstance(payload, dict):
        raise EventError(f"the event payload {path} is not a JSON object")
    return payload


def run_workflow(settings: Settings, trigger: Trigger, github: GitHubClient,
                 environ: Mapping[str, str], log: Log) -> workflow.Outcome:
    """Wire the checkout and the sandbox, run, and hand the checkout back to its owner."""
    path = Path(environ.get("GITHUB_WORKSPACE", "/github/workspace"))
    identity = Identity(settings.commit_author_name, settings.commit_author_email)
    workspace = Workspace(path, server_url=environ.get("GITHUB_SERVER_URL", "https://github.com"),
                          token=settings.github_token.get_secret_value(), identity=identity)
    workspace.trust()
    owner = workspace.owner()
    try:
        agent = SandboxedClaude(Sandbox, settings, path, owner, log, state_dir(environ, trigger),
                                labels={"codeagent.run": environ.get("GITHUB_RUN_ID", "")})
        return workflow.run(trigger, settings, github, workspace, agent, log, run_url(environ))
    finally:
        workspace.restore_ownership(*owner)


def state_dir(environ: Mapping[str, str], trigger: Trigger) -> Path:
    """This run's files (transcript, the agent's HOME): under HOME, which the runner mounts from its temp dir."""
    run = f"{environ.get('GITHUB_RUN_ID', 'local')}-{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    return Path(environ.get("HOME", "/github/home")) / "codeagent" / f"run-{run}-{trigger.issue_number}"


def finish(log: Log, environ: Mapping[str, str], outcome: workflow.Outcome | None,
           failure: CodeagentError | None = None) -> int:
    """Outputs, step summary and annotation for how the run ended; the exit code."""
    if failure is not None:
        log.error(str(failure), title=failure.title)
    if outcome is None:
        write_outputs(environ, {"result": "failure"})
        _append_summary(environ, report.error_summary(failure.title, str(failure)))
        return EXIT_FAILURE
    if failure is None and outcome.result == "failure":
        log.error(outcome.message, title=outcome.title or "codeagent failed")
    write_outputs(environ, outputs_of(outcome))
    _append_summary(environ, report.step_summary(outcome, log.phase_seconds))
    return EXIT_FAILURE if outcome.result == "failure" else EXIT_OK


def outputs_of(outcome: workflow.Outcome) -> dict[str, str]:
    """The action's outputs (action.yml) for an outcome."""
    pull, result = outcome.pull_request, outcome.agent.result if outcome.agent else None
    return {
        "result": outcome.result,
        "branch": outcome.branch,
        "pr-number": str(pull.number) if pull else "",
        "pr-url": pull.html_url if pull else "",
        "cost-usd": f"{result.cost_usd:.4f}" if result else "",
        "turns": str(result.num_turns) if result else "",
        "session-id": result.session_id if result else "",
        "transcript-path": outcome.agent.transcript_path if outcome.agent else "",
    }


def write_outputs(environ: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Append the outputs to the file GITHUB_OUTPUT names, in the runner's `name<<delimiter` form."""
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as file:
        for name, value in outputs.items():
            file.write(prepare_key_value_message(name, value) + "\n")


def run_url(environ: Mapping[str, str]) -> str:
    """Link to this workflow run's log."""
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{environ.get('GITHUB_RUN_ID', '')}"


def _append_summary(environ: Mapping[str, str], markdown: str) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")


def _say_config_failure_where_asked(environ: Mapping[str, str], failure: ConfigError, log: Log) -> None:
    """Invalid settings on a `/code` request: say so on the issue too, where the asker looks.

    Best effort, with the raw inputs (the settings did not validate); only for a request
    by someone with write access, who can fix the configuration."""
    inputs = read_inputs(environ)
    try:
        trigger = parse_event(environ.get("GITHUB_EVENT_NAME", ""), read_payload(environ),
                              inputs.get("trigger-phrase", "/code").strip() or "/code")
        if isinstance(trigger, Skip) or not inputs.get("github-token"):
            return
        github = GitHubClient(inputs["github-token"], trigger.repository,
                              environ.get("GITHUB_API_URL", "https://api.github.com"))
        if github.can_write(trigger.actor):
            _comment_failure(github, trigger, failure, run_url(environ), log)
    except Exception as error:  # the annotation and the summary still say it
        log.warning(f"could not comment the configuration error on the issue: {error}")


def _comment_failure(github: GitHubClient, trigger: Trigger, error: CodeagentError, url: str, log: Log) -> None:
    """Say on the issue that the run failed; a failure to say so is only logged."""
    try:
        github.comment(trigger.issue_number, report.failure_comment(error.title, str(error), url))
    except Exception as second:  # also a network error: the failure itself must still be reported
        log.warning(f"could not comment the failure on #{trigger.issue_number}: {second}")


def _raise_cancelled(signum, frame) -> None:
    # Once is enough: the second signal of a cancel must not interrupt our clean-up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Cancelled(f"the run was cancelled ({signal.Signals(signum).name}); what the agent wrote "
                    "before that is pushed to the branch")
