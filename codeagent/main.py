"""The entry point: the only reader of the environment.

It reads the runner's context, the inputs and the event; builds `Settings` (with the config
file of the default branch) and the `Trigger`; wires the adapters (GitHub, git, the gateway
and the sandbox); runs the workflow; and turns its outcome or a `CodeagentError` into
outputs, a step summary, an ``::error::`` annotation, a comment where one fits, and the exit code.
"""

from __future__ import annotations

import os
import secrets
import signal
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

from codeagent import job_summary, report
from codeagent.agent import CLIS
from codeagent.branches import Branches
from codeagent.checkout import Checkout
from codeagent.context import RunnerContext
from codeagent.conclusion import Conclusion
from codeagent.errors import Cancelled, CodeagentError, ConfigError
from codeagent.event import Skip, Trigger, parse_event
from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream, pinned_hosts
from codeagent.gateway.keycheck import DEFAULT_URLS, check_key
from codeagent.gitcmd import Identity
from codeagent.github_client import GitHubClient
from codeagent.log import Log
from codeagent.outcome import Outcome
from codeagent.redact import Redactor
from codeagent.repository import Repository
from codeagent.sandbox.engine import Engine, Limits
from codeagent.sandbox.images import choose_image
from codeagent.sandbox.prefetch import Prefetch
from codeagent.sandbox.workbench import AgentOptions, AgentSandbox, StateDirs
from codeagent.inputs import load_settings, read_inputs, unknown_inputs
from codeagent.settings import SECRET_FIELDS, Settings, input_name
from codeagent.workflow import Run

EXIT_OK, EXIT_FAILURE = 0, 1
SECRET_INPUTS = tuple(input_name(field) for field in SECRET_FIELDS)


class UnexpectedError(CodeagentError):
    """An exception codeagent did not expect: a bug; its traceback is in the log."""

    title = "Unexpected error"


@dataclass(frozen=True)
class Request:
    """What the run was asked, read from the environment: the context, the inputs, the trigger."""

    context: RunnerContext
    inputs: dict[str, str]
    trigger: Trigger


def main(environ: Mapping[str, str] = os.environ) -> int:
    """Run the action once; returns the process exit code."""
    log, context = Log(), _files_only(environ)
    try:
        context = RunnerContext.from_environ(environ)
        log = Log(debug=context.debug)
        request = read_request(context, environ, log)
    except Exception as error:
        return finish(log, context, None, expected(error, log))
    if isinstance(request, Skip):
        log.info(f"Nothing to do: {request.reason}")
        write_outputs(context, {"result": "skipped"})
        return EXIT_OK
    # A released action's sandbox image is pulled while the run checks, acknowledges and branches.
    released_sandbox = Prefetch(context.sandbox_image).start()
    try:
        settings, default_sha = read_settings(request, environ, log)
    except Exception as error:
        failure = expected(error, log)
        say_config_failure(request, failure, log)
        return finish(log, context, None, failure)
    return run(request, settings, log, released_sandbox, default_sha)


def read_request(context: RunnerContext, environ: Mapping[str, str], log: Log) -> Request | Skip:
    """The inputs (secrets masked before anything can print them) and the event, as a Trigger or a Skip."""
    inputs = read_inputs(environ)
    for name in SECRET_INPUTS:
        if inputs.get(name):
            log.mask(inputs[name])
    for name in unknown_inputs(inputs):
        log.warning(f"unknown input `{name}` is ignored; see action.yml for the inputs")
    phrase = inputs.get("trigger-phrase", "").strip() or "/code"
    trigger = parse_event(context.event_name, context.read_payload(), phrase)
    if isinstance(trigger, Skip):
        return trigger
    if not inputs.get("github-token"):
        raise ConfigError("input `github-token`: required; pass `github-token: ${{ github.token }}` (the default "
                          "when the input is left out)")
    return Request(context, inputs, trigger)


def read_settings(request: Request, environ: Mapping[str, str], log: Log) -> tuple[Settings, str]:
    """The inputs over the config file as the repository's default branch has it (never the checkout's),
    and that branch's commit ("" when the server has no such branch): the run works from it."""
    repository = trusted_repository(request, Identity("codeagent", "codeagent@localhost"))
    default = repository.fetch_branch(request.trigger.default_branch)

    def read_file(path: str) -> str | None:
        data = repository.show(default, path) if default else None
        return data.decode("utf-8", errors="replace") if data is not None else None

    settings = load_settings(request.inputs, environ, read_file)
    for secret in settings.secrets():
        log.mask(secret)
    return settings, default or ""


def trusted_repository(request: Request, identity: Identity) -> Repository:
    context = request.context
    return Repository(state(request).repository, server_url=context.server_url, repository=request.trigger.repository,
                      token=request.inputs["github-token"], identity=identity)


def state(request: Request) -> StateDirs:
    return StateDirs(request.context.state_dir(request.trigger.issue_number))


def run(request: Request, settings: Settings, log: Log, released_sandbox: Prefetch | None = None,
        default_sha: str | None = None) -> int:
    """Wire the adapters and run; an unexpected error is logged with its traceback and said."""
    context, trigger = request.context, request.trigger
    redact = Redactor(settings.secrets())
    github = GitHubClient(settings.github_token.get_secret_value(), trigger.repository, context.api_url,
                          redact=redact, on_wait=log.warning)
    # The runner cancels a job with SIGINT, then SIGTERM (docker passes both on to us).
    signal.signal(signal.SIGINT, _raise_cancelled)
    signal.signal(signal.SIGTERM, _raise_cancelled)
    workflow = None
    try:
        try:
            workflow = wire(request, settings, github, redact, log, released_sandbox or Prefetch(""), default_sha)
            outcome = workflow.execute()
        except Exception as error:
            failure = expected(error, log)
            if workflow is None or not workflow.progress.started:  # the progress comment says it otherwise
                comment_failure(github, trigger, failure, context.run_url, log)
            outcome = (Conclusion(workflow).failed_outcome(failure) if workflow
                       else Outcome("failure", trigger, message=str(failure)))
            return finish(log, context, outcome, failure, redact)
        return finish(log, context, outcome, None, redact)
    finally:
        if workflow is not None:  # after the outputs and the summary: a cancelled job has seconds left
            workflow.sandbox.remove_leftovers()


def wire(request: Request, settings: Settings, github: GitHubClient, redact: Redactor, log: Log,
         released_sandbox: Prefetch, default_sha: str | None = None) -> Run:
    context, trigger, dirs = request.context, request.trigger, state(request)
    identity = Identity(settings.commit_author_name, settings.commit_author_email)
    checkout = Checkout(context.workspace)
    branches = Branches(trusted_repository(request, identity), checkout, dirs.agent_git, trigger.default_branch,
                        redact, default_sha)
    cli = CLIS[settings.agent]()
    secret, secret_input = settings.agent_secret()
    oauth = secret_input == "claude-code-oauth-token"
    base_url = settings.base_url() or DEFAULT_URLS[cli.vendor]
    policy = EgressPolicy(settings.network, settings.allowed_domains, pinned_hosts(context.gateway_hosts))
    ledger = Ledger(settings.max_cost_usd, max_turns=settings.max_turns)
    gateway = Gateway(dirs.gateway_socket, Upstream(VENDORS[cli.vendor], base_url, secret, oauth), policy, ledger,
                      on_blocked=lambda host, why: log.warning(f"blocked: {why}"))
    limits = Limits(settings.sandbox_memory, settings.sandbox_cpus, settings.sandbox_pids, settings.sandbox_tmp_size,
                    settings.timeout_minutes * 60)
    options = AgentOptions(settings.agent_model, settings.max_turns, settings.allowed_tools, settings.max_cost_usd,
                           limits, {"codeagent.run": context.run_id})
    sandbox = AgentSandbox(
        lambda: Engine(released_sandbox=released_sandbox), cli, gateway, dirs, checkout, options, log,
        choose_image=lambda engine: choose_image(engine, settings, branches, str(checkout.path), log),
        check_key=lambda: check_key(cli.vendor, secret, settings.base_url(), secret_input, oauth))
    return Run(trigger, settings, github, branches, sandbox, log, context.run_url, run_attempt=context.run_attempt)


def expected(error: Exception, log: Log) -> CodeagentError:
    """``error`` as a CodeagentError; one we did not expect gets its traceback logged first."""
    if isinstance(error, CodeagentError):
        return error
    with log.group("Traceback of the unexpected error"):
        log.info("".join(traceback.format_exception(error)))
    return UnexpectedError(f"{type(error).__name__}: {error}. This is a bug in codeagent, not in your setup; "
                           "please report it with the traceback from the log group "
                           "\"Traceback of the unexpected error\".")


def finish(log: Log, context: RunnerContext, outcome: Outcome | None, failure: CodeagentError | None = None,
           redact: Redactor | None = None) -> int:
    """Outputs, step summary and annotation for how the run ended; the exit code."""
    redact = redact or Redactor()
    if failure is not None:
        log.error(redact(str(failure)), title=failure.title)
    if outcome is None:
        write_outputs(context, {"result": "failure"})
        append_summary(context, redact(job_summary.error_summary(failure.title if failure else "failed", str(failure))))
        return EXIT_FAILURE
    if failure is None and outcome.result == "failure":
        log.error(redact(outcome.message), title=outcome.title or "codeagent failed")
    write_outputs(context, outputs_of(outcome))
    append_summary(context, redact(job_summary.step_summary(outcome, log.phase_seconds)))
    return EXIT_FAILURE if outcome.result == "failure" else EXIT_OK


def outputs_of(outcome: Outcome) -> dict[str, str]:
    """The action's outputs (action.yml) for an outcome; the numbers are the gateway's."""
    pull, usage, agent = outcome.pull_request, outcome.usage, outcome.agent
    kept = outcome.result in ("success", "failure") or (pull is not None and pull.state == "open")
    return {
        "result": outcome.result,
        "branch": outcome.branch if kept else "",
        "pr-number": str(pull.number) if pull and kept else "",
        "pr-url": pull.html_url if pull and kept else "",
        "cost-usd": f"{usage.cost_usd:.4f}" if usage else "",
        "turns": str(usage.turns) if usage else "",
        "session-id": agent.session_id if agent else "",
        "transcript-path": agent.transcript_path if agent else "",
        "verify-result": outcome.verification.result if outcome.verification and agent else "",
    }


def write_outputs(context: RunnerContext, outputs: Mapping[str, str]) -> None:
    """Append the outputs to the file GITHUB_OUTPUT names, in the runner's `name<<delimiter` form."""
    if context.output_file is None:
        return
    with open(context.output_file, "a", encoding="utf-8") as file:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(context: RunnerContext, markdown: str) -> None:
    if context.summary_file is not None:
        with open(context.summary_file, "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")


def say_config_failure(request: Request, failure: CodeagentError, log: Log) -> None:
    """Invalid settings on a `/code` request: say so on the issue too, where the asker looks.

    Best effort, with the raw inputs (the settings did not validate); only for a request by
    someone with write access, who can fix the configuration."""
    trigger = request.trigger
    try:
        redact = Redactor(request.inputs[name] for name in SECRET_INPUTS if request.inputs.get(name))
        github = GitHubClient(request.inputs["github-token"], trigger.repository, request.context.api_url,
                              redact=redact)
        if github.can_write(trigger.actor):
            comment_failure(github, trigger, failure, request.context.run_url, log)
    except Exception as error:  # the annotation and the summary still say it
        log.warning(f"could not comment the configuration error on the issue: {error}")


def comment_failure(github: GitHubClient, trigger: Trigger, error: CodeagentError, url: str, log: Log) -> None:
    """Say on the issue that the run failed; a failure to say so is only logged."""
    try:
        github.comment(trigger.issue_number, report.failure_comment(error.title, str(error), url))
    except Exception as second:  # also a network error: the failure itself must still be reported
        log.warning(f"could not comment the failure on #{trigger.issue_number}: {second}")


def _files_only(environ: Mapping[str, str]) -> RunnerContext:
    """Where the outputs and the summary go, for reporting a failure to read the rest of the environment."""
    files = {}
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        try:
            files[name] = environ[name]
        except Exception:  # noqa: BLE001 (whatever is wrong with the environment, the failure must be said)
            continue
    return RunnerContext.from_environ(files)


def _raise_cancelled(signum, frame) -> None:
    # Once is enough: the second signal of a cancel must not interrupt our clean-up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Cancelled(f"the run was cancelled ({signal.Signals(signum).name}); what the agent wrote "
                    "before that is pushed to the branch")
