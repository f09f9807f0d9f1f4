"""The ``expect:`` block of a scenario (our extension of the format) checked against a report."""

from __future__ import annotations

import re
from pathlib import Path

from bench.scenario import load_scenario

REPORT_KEYS = {
    "exit_code", "outputs", "step_summary", "pulls", "branches", "issue_comments", "reactions",
    "model_requests", "leaked_secrets", "api_requests", "log", "containers_left", "duration_s", "model_s",
    "review_comments", "reviews", "runs", "prompts", "model_request_messages", "first_request_text",
    "bench_comment_ids", "cancel", "transcript_result", "unused_faults", "git_config_left",
    "unknown_api_requests", "spec_violations", "workflow_dispatches", "action_image", "image_build_s",
    "image_pull_s", "canary", "forced_pushes",
}
RUN_REPORT_KEYS = {
    "exit_code", "outputs", "step_summary", "model_requests", "leaked_secrets", "api_requests", "log",
    "containers_left", "duration_s", "model_s", "prompts", "model_request_messages", "first_request_text",
    "cancel", "transcript_result", "unused_faults", "git_config_left",
}
ACTION_LOGIN = "github-actions[bot]"
PROGRESS_MARKER = "<!-- codeagent:progress run="
"""How a progress comment starts (codeagent/progress.py)."""
ACTION_MARKER = "<!-- codeagent:"
"""The hidden marker the README promises in every comment the action writes."""
EDIT_TIMING_SLACK_S = 0.1
"""What a measured interval between two edits may fall short: the emulator times a request when it
arrives, the action when it sends it."""


TIMED = ("cancel_ends_within_s",)
"""Expectations of seconds short enough that sharing two cores with other runs can break them: a
scenario that has one runs alone, once the others are done (a figure from a loaded machine says
nothing about the action)."""


def timed(path: Path) -> bool:
    """Whether the scenario at ``path`` has a `TIMED` expectation."""
    return any(key in (load_scenario(path).raw.get("expect") or {}) for key in TIMED)


def check_expectations(expect: dict, report: dict, context: str = "") -> None:
    """Assert each key of ``expect``; unknown keys are an error, so a typo cannot pass silently."""
    for key, wanted in expect.items():
        assert key in CHECKS, f"unknown expect key {key!r}; known: {sorted(CHECKS)}"
        CHECKS[key](wanted, report, context)


def _exit_code(wanted, report, context):
    assert report["exit_code"] == wanted, context


def _result(wanted, report, context):
    assert report["outputs"].get("result") == wanted, context


def _pulls(wanted, report, context):
    assert len(report["pulls"]) == wanted, context


def _branches(wanted, report, context):
    assert sorted(b["name"] for b in report["branches"]) == sorted(wanted), context


def _model_requests(wanted, report, context):
    assert report["model_requests"] == wanted, context


def _reactions(wanted, report, context):
    assert len(report["reactions"]) == wanted, context


def _by_action(comments: list[dict], report: dict) -> list[dict]:
    """The comments the action wrote: by its login, and not posted by the bench (a scenario's
    thread or trigger may be by the same bot login)."""
    seeded = set(report.get("bench_comment_ids", []))
    return [c for c in comments if c["author"] == ACTION_LOGIN and c["id"] not in seeded]


def _texts_in_order(wanted: list[str], bodies: list[str], what: str, context: str) -> None:
    """Each text in its own body, in order, case-insensitive, and no more bodies than texts."""
    assert len(bodies) == len(wanted), f"{what}: {bodies}{context}"
    for text, body in zip(wanted, bodies):
        assert text.lower() in body.lower(), f"{text!r} not in {body!r}{context}"


def _comments_by_action(wanted, report, context):
    """Each text must appear in its own comment by the action, in order, and no more comments."""
    bodies = [c["body"] for c in _by_action(report["issue_comments"], report)]
    _texts_in_order(wanted, bodies, "action comments", context)


def _comments_on(wanted, report, context):
    """``{number: [texts]}``: the action's comments on that issue or pull request's conversation."""
    for number, texts in wanted.items():
        bodies = [c["body"] for c in _by_action(report["issue_comments"], report) if c["issue_number"] == int(number)]
        _texts_in_order(texts, bodies, f"action comments on #{number}", context)


def _review_replies(wanted, report, context):
    """The action's replies in review threads: how many, or one text per reply in order."""
    bodies = [c["body"] for c in _by_action(report["review_comments"], report) if c["in_reply_to"]]
    if isinstance(wanted, int):
        assert len(bodies) == wanted, f"review replies: {bodies}{context}"
    else:
        _texts_in_order(wanted, bodies, "review replies", context)


def _reactions_on_review_comments(wanted, report, context):
    assert sum(1 for r in report["reactions"] if r.get("review_comment")) == wanted, context


def _branch_commits(wanted, report, context):
    """``{branch: N}``: commits on the branch since main."""
    for name, count in wanted.items():
        [branch] = [b for b in report["branches"] if b["name"] == name] or [None]
        assert branch is not None, f"no branch {name}{context}"
        messages = [c["message"].splitlines()[0] for c in branch["commits"]]
        assert len(messages) == count, f"{name}: {messages}{context}"


def _prompt_contains(wanted, report, context):
    """Texts in the last run's first agent-loop request (its whole conversation, resumed or not)."""
    text = report["first_request_text"]
    for expected in wanted:
        assert expected in text, f"{expected!r} not in the first model request:\n{text[-3000:]}{context}"


def _resumed(wanted, report, context):
    """Whether the last run continued the earlier run's Claude Code session: its first request
    then carries the earlier conversation (more than the one new user message)."""
    resumed = report["model_request_messages"] > 1 and "resuming session" in report["log"]
    assert resumed == wanted, f"{report['model_request_messages']} messages in the first request{context}"


def _run_results(wanted, report, context):
    """The ``result`` output of each run, in order."""
    assert [run["outputs"].get("result") for run in report["runs"]] == wanted, context


def _files(wanted, report, context):
    """``{branch: [paths changed since main]}``."""
    for name, paths in wanted.items():
        [branch] = [b for b in report["branches"] if b["name"] == name]
        changed = sorted({f for c in branch["commits"] for f in c["files"]})
        assert changed == sorted(paths), context


def _log_contains(wanted, report, context):
    for text in wanted:
        assert text in report["log"], f"{text!r} not in the log{context}"


def _log_lacks(wanted, report, context):
    """Texts that must not be in the last run's log (a retry that should not have been)."""
    for text in wanted:
        assert text not in report["log"], f"{text!r} in the log{context}"


def _contains_all(wanted: list[str], text: str, what: str, context: str) -> None:
    """Each text in ``text``, case-insensitive."""
    for expected in wanted:
        assert expected.lower() in text.lower(), f"{expected!r} not in {what}:\n{text}{context}"


def _progress_comment(report: dict, context: str) -> dict:
    """The last progress comment the action wrote (the last run's)."""
    progress = [c for c in _by_action(report["issue_comments"], report) if PROGRESS_MARKER in c["body"]]
    assert progress, f"no progress comment{context}"
    return progress[-1]


def _comment_contains(wanted, report, context):
    """Texts in the final text of the last run's progress comment."""
    _contains_all(wanted, _progress_comment(report, context)["body"], "the progress comment", context)


def _progress_edit_times(report: dict, context: str) -> list[float]:
    """When the last run's successful edits of its progress comment arrived, in seconds from its start."""
    suffix = f"/issues/comments/{_progress_comment(report, context)['id']}"
    return [r["time"] for r in report["api_requests"]
            if r["method"] == "PATCH" and r["path"].endswith(suffix) and r["status"] < 300]


def _min_edits(wanted, report, context):
    """At least this many edits of the progress comment."""
    times = _progress_edit_times(report, context)
    assert len(times) >= wanted, f"{len(times)} edits of the progress comment, at {times}{context}"


def _max_edit_rate_s(wanted, report, context):
    """Consecutive edits of the progress comment at least this many seconds apart, the final edit excepted."""
    times = _progress_edit_times(report, context)
    gaps = [round(later - earlier, 2) for earlier, later in zip(times[:-2], times[1:-1])]
    assert all(gap >= wanted - EDIT_TIMING_SLACK_S for gap in gaps), \
        f"edits at {times}: gaps {gaps} (the final edit excepted), wanted >= {wanted} s{context}"


def _duration_below_s(wanted, report, context):
    assert report["duration_s"] < wanted, f"the run took {report['duration_s']} s{context}"


def _outputs(wanted, report, context):
    """``{name: value}``: each output equals the value, or matches it as a whole as a regex."""
    for name, value in wanted.items():
        got, value = report["outputs"].get(name), str(value)
        assert got is not None, f"no output {name!r} in {report['outputs']}{context}"
        assert got == value or re.fullmatch(value, got), f"output {name}={got!r}, wanted {value!r}{context}"


def _step_summary_contains(wanted, report, context):
    _contains_all(wanted, report["step_summary"], "the step summary", context)


def _pull_body_contains(wanted, report, context):
    """Texts in the body of the last pull request."""
    assert report["pulls"], f"no pull request{context}"
    _contains_all(wanted, report["pulls"][-1]["body"], "the pull request's body", context)


def _pull_titles(wanted, report, context):
    """Each pull request's title, in order."""
    assert [pull["title"] for pull in report["pulls"]] == wanted, f"{report['pulls']}{context}"


def _pull_states(wanted, report, context):
    """Each pull request's state (``open``, ``closed``), in order."""
    assert [pull["state"] for pull in report["pulls"]] == wanted, f"{report['pulls']}{context}"


def _pull_files_changed(wanted, report, context):
    """The lines of the "Files changed" list in the last pull request's body, exactly and in order."""
    assert report["pulls"], f"no pull request{context}"
    body = report["pulls"][-1]["body"]
    found = re.search(r"^## Files changed\n\n(.*?)(?:\n\n|\Z)", body, re.MULTILINE | re.DOTALL)
    assert found, f"no \"## Files changed\" list in the pull request's body:\n{body}{context}"
    assert found[1].splitlines() == wanted, f"files changed:\n{found[1]}{context}"


def _commit_subjects(wanted, report, context):
    """``{branch: [texts]}``: one text per commit since main, in order, each in that commit's subject."""
    for name, texts in wanted.items():
        [branch] = [b for b in report["branches"] if b["name"] == name] or [None]
        assert branch is not None, f"no branch {name}{context}"
        subjects = [c["message"].splitlines()[0] for c in branch["commits"]]
        _texts_in_order(texts, subjects, f"commit subjects of {name}", context)


def _outputs_match_transcript(wanted, report, context):
    """The ``cost-usd`` and ``turns`` outputs hold the transcript's ``result`` message's numbers."""
    final = report["transcript_result"]
    assert final is not None, f"no result message in the transcript{context}"
    numbers = {"cost-usd": f"{final['total_cost_usd']:.4f}", "turns": str(final["num_turns"])}
    matches = all(report["outputs"].get(name) == value for name, value in numbers.items())
    assert matches == wanted, f"outputs {report['outputs']}, transcript {numbers}{context}"


def _outputs_match_model(wanted, report, context):
    """The ``cost-usd`` and ``turns`` outputs are what the model server answered: the gateway counted
    every call, and the agent's stdout had no say."""
    billed = report["model_billed"]
    numbers = {"cost-usd": f"{billed['cost_usd']:.4f}", "turns": str(billed["turns"])}
    matches = all(report["outputs"].get(name) == value for name, value in numbers.items())
    assert matches == wanted, f"outputs {report['outputs']}, the model server's {numbers}{context}"


def _cancel_ends_within_s(wanted, report, context):
    """The last run was cancelled, and its container ended this many seconds after the first signal."""
    cancel = report["cancel"]
    assert cancel is not None, f"the run was not cancelled (it ended first?){context}"
    took = round(report["duration_s"] - cancel["at_s"], 2)
    after = [f"{request['time']} s {request['method']} {request['path']} {request['status']}"
             for request in report["api_requests"] if request["time"] >= cancel["at_s"]]
    assert took < wanted, (f"ended {took} s after the cancel at {cancel['at_s']} s (the run took {report['duration_s']} s); "
                           f"signals {cancel['signals']}; API requests since: {after}{context}")


def _model_saw(wanted, report, context):
    """Texts in the user messages of the last run's agent loop: its prompts (a verify round's too) and its
    tool results (what the agent's commands printed)."""
    _contains_all(wanted, "\n".join(report["user_messages"]), "what the model was sent", context)


def _index_requests(wanted, report, context):
    """Each text in a path the stand-in package index was asked for in the last run; a number: how many
    requests it served (0: the sandbox never reached it)."""
    if isinstance(wanted, int):
        assert len(report["index_requests"]) == wanted, f"{report['index_requests']}{context}"
        return
    for text in wanted:
        assert any(text in path for path in report["index_requests"]), \
            f"{text!r} not asked of the package index: {report['index_requests']}{context}"


def _pull_drafts(wanted, report, context):
    """Each pull request's draft flag, in order."""
    assert [pull["draft"] for pull in report["pulls"]] == wanted, f"{report['pulls']}{context}"
def _workflow_dispatches(wanted, report, context):
    """``[{workflow, ref}]``: the workflow runs requested through the API, in order and no others; a
    workflow by its file name (``ci.yml``) or its path."""
    got = [(d["workflow"], d["ref"]) for d in report["workflow_dispatches"]]
    assert len(got) == len(wanted), f"dispatches: {got}{context}"
    for want, (workflow, ref) in zip(wanted, got):
        assert want["workflow"] in (workflow, workflow.rsplit("/", 1)[-1]) and want["ref"] == ref, \
            f"dispatches: {got}, wanted {wanted}{context}"


def _api_statuses(wanted, report, context):
    """``{"METHOD path-regex": [statuses]}``: the statuses of the last run's matching API requests, in order."""
    for key, statuses in wanted.items():
        method, pattern = key.split(" ", 1)
        got = [r["status"] for r in report["api_requests"] if r["method"] == method and re.search(pattern, r["path"])]
        assert got == statuses, f"{key}: {got}, wanted {statuses}{context}"


def _prompt_excludes(wanted, report, context):
    """Texts in none of the last run's model requests' first user messages, nor in its first agent-loop
    request (what the agent was told)."""
    texts = [*report["prompts"], report["first_request_text"]]
    for unwanted in wanted:
        found = [text for text in texts if unwanted in text]
        assert not found, f"{unwanted!r} reached the model:\n{found[0][-3000:]}{context}"


def _log_excludes(wanted, report, context):
    """Texts in no run's log."""
    for unwanted in wanted:
        for number, run in enumerate(report["runs"], 1):
            assert unwanted not in run["log"], f"{unwanted!r} in the log of run {number}{context}"


def _pull_body_excludes(wanted, report, context):
    """Texts in no pull request's body (case-sensitive)."""
    for unwanted in wanted:
        for pull in report["pulls"]:
            assert unwanted not in pull["body"], f"{unwanted!r} in the body of #{pull['number']}{context}"


ACTION_COMMANDS = ("warning", "error", "group", "endgroup", "debug")
"""Workflow commands the action writes with (escaped) text of the agent's in their message."""
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def runner_commands(log: str) -> list[tuple[str, str, str]]:
    """The workflow commands the runner would obey in ``log``, as (line, command with properties, message).

    As actions/runner reads a step's output: lines end at ``\n``, ``\r\n`` or a lone ``\r``
    (.NET's ReadLine); a line is a command when, after leading whitespace, it starts with ``::``
    and has a second ``::``, or when it holds ``##[`` anywhere (the legacy form, command "##[")."""
    commands = []
    for line in LINE_BREAK.split(log):
        trimmed = line.lstrip()
        if trimmed.startswith("::") and "::" in trimmed[2:]:
            command, message = trimmed[2:].split("::", 1)
            commands.append((line, command, message))
        elif "##[" in line:
            commands.append((line, "##[", line))
    return commands


def _no_forged_commands(wanted, report, context):
    """No workflow command in any run's log carries one of these markers where the agent's text may not be:
    in a command's name or properties, or anywhere in a command the action never writes with the agent's
    text (``add-mask``, ``set-output``, ``stop-commands``, the legacy ``##[`` form, ...)."""
    for number, run in enumerate(report["runs"], 1):
        for line, command, message in runner_commands(run["log"]):
            name = command.split(" ", 1)[0]
            for marker in wanted:
                forged = marker in command or (name not in ACTION_COMMANDS and marker in message)
                assert not forged, f"run {number}: the runner would obey {line[:300]!r}{context}"


def _canary_untouched(wanted, report, context):
    """The loopback listener (``canary: true``) received no connection (``true``) or did (``false``)."""
    canary = report.get("canary")
    assert canary is not None, f"the scenario has no canary (`canary: true`){context}"
    assert (not canary["connections"]) == wanted, f"canary: {canary}{context}"


def _model_billed_below_usd(wanted, report, context):
    """What the model server answered (every run), at codeagent's prices, came to less than this."""
    billed = sum(run.get("model_billed", {}).get("cost_usd", 0.0) for run in report["runs"])
    assert billed < wanted, f"the model server billed ${billed:.2f} (outputs {report['outputs']}){context}"


def _model_requests_below(wanted, report, context):
    """The last run's model server answered fewer requests than this."""
    assert report["model_requests"] < wanted, f"{report['model_requests']} model requests{context}"


def _commit_authors_exclude(wanted, report, context):
    """Texts in no commit's author on any branch."""
    for branch in report["branches"]:
        for commit in branch["commits"]:
            for unwanted in wanted:
                assert unwanted not in commit["author"], f"{branch['name']} {commit['sha'][:8]}: {commit['author']}{context}"


CHECKS = {
    "exit_code": _exit_code, "result": _result, "pulls": _pulls, "branches": _branches,
    "model_requests": _model_requests, "resumed": _resumed, "reactions": _reactions,
    "comments_by_action": _comments_by_action, "files": _files, "log_contains": _log_contains,
    "log_lacks": _log_lacks,
    "branch_commits": _branch_commits, "comments_on": _comments_on, "review_replies": _review_replies,
    "reactions_on_review_comments": _reactions_on_review_comments, "prompt_contains": _prompt_contains,
    "run_results": _run_results, "comment_contains": _comment_contains, "min_edits": _min_edits,
    "max_edit_rate_s": _max_edit_rate_s, "duration_below_s": _duration_below_s, "outputs": _outputs,
    "step_summary_contains": _step_summary_contains, "pull_body_contains": _pull_body_contains,
    "pull_states": _pull_states, "pull_titles": _pull_titles, "outputs_match_transcript": _outputs_match_transcript,
    "outputs_match_model": _outputs_match_model,
    "cancel_ends_within_s": _cancel_ends_within_s, "api_statuses": _api_statuses,
    "model_saw": _model_saw, "index_requests": _index_requests, "pull_drafts": _pull_drafts,
    "pull_files_changed": _pull_files_changed, "commit_subjects": _commit_subjects,
    "workflow_dispatches": _workflow_dispatches,
    "prompt_excludes": _prompt_excludes, "log_excludes": _log_excludes, "pull_body_excludes": _pull_body_excludes,
    "no_forged_commands": _no_forged_commands, "canary_untouched": _canary_untouched,
    "commit_authors_exclude": _commit_authors_exclude, "model_billed_below_usd": _model_billed_below_usd,
    "model_requests_below": _model_requests_below,
}


def check_invariants(report: dict, context: str = "") -> None:
    """What every run of every scenario must hold, beside its ``expect``."""
    assert report["git_config_left"] == [], f"global git config written: {report['git_config_left']}{context}"
    for comment in _by_action(report["issue_comments"] + report["review_comments"], report):
        assert ACTION_MARKER in comment["body"], f"a comment of the action without its marker:\n{comment['body']}" \
                                                 f"{context}"
