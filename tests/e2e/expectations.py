"""The ``expect:`` block of a scenario (our extension of the format) checked against a report."""

from __future__ import annotations

REPORT_KEYS = {
    "exit_code", "outputs", "step_summary", "pulls", "branches", "issue_comments", "reactions",
    "model_requests", "leaked_secrets", "api_requests", "log", "containers_left", "duration_s", "model_s",
}
ACTION_LOGIN = "github-actions[bot]"


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


def _comments_by_action(wanted, report, context):
    """Each text must appear in its own comment by the action, in order, and no more comments."""
    bodies = [c["body"] for c in report["issue_comments"] if c["author"] == ACTION_LOGIN]
    assert len(bodies) == len(wanted), f"action comments: {bodies}{context}"
    for text, body in zip(wanted, bodies):
        assert text.lower() in body.lower(), f"{text!r} not in {body!r}{context}"


def _files(wanted, report, context):
    """``{branch: [paths changed since main]}``."""
    for name, paths in wanted.items():
        [branch] = [b for b in report["branches"] if b["name"] == name]
        changed = sorted({f for c in branch["commits"] for f in c["files"]})
        assert changed == sorted(paths), context


def _log_contains(wanted, report, context):
    for text in wanted:
        assert text in report["log"], f"{text!r} not in the log{context}"


CHECKS = {
    "exit_code": _exit_code, "result": _result, "pulls": _pulls, "branches": _branches,
    "model_requests": _model_requests, "reactions": _reactions,
    "comments_by_action": _comments_by_action, "files": _files, "log_contains": _log_contains,
}
