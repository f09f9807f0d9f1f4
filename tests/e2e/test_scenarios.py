"""Every scenario, end to end through the bench: real Docker, real CLI, the emulators.

Scenarios come from ``scenarios/`` (ours) and ``../shared/scenarios/`` (shared,
run as they are). Every report must hold the invariants below (for each of its
runs); a scenario may add an ``expect:`` block (our extension of the format,
scenarios/README.md). A scenario with ``pending:`` is skipped with its reason until
the action supports what it needs (``CODEAGENT_RUN_PENDING=1`` runs it anyway).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from bench.github.spec.conformance import describe
from bench.release import ActionImage
from bench.run import REPO_ROOT, build, run_scenario
from bench.runner import remove_tree
from bench.scenario import load_scenario
from tests.e2e.expectations import REPORT_KEYS, RUN_REPORT_KEYS, check_expectations, check_invariants, timed

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(600)]

OURS = sorted(p for p in (REPO_ROOT / "scenarios").iterdir() if (p / "scenario.yaml").is_file())
SHARED_ROOT = REPO_ROOT.parent / "shared" / "scenarios"
SHARED = sorted(p for p in SHARED_ROOT.glob("*") if (p / "scenario.yaml").is_file()) if SHARED_ROOT.is_dir() else []


def _same_scenario(a: Path, b: Path) -> bool:
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return files(a) == files(b)


# A shared scenario we already carry unchanged is the same test: run it once.
SCENARIOS = OURS + [s for s in SHARED if not any(o.name == s.name and _same_scenario(o, s) for o in OURS)]


@pytest.fixture(scope="session")
def action_image() -> ActionImage:
    return build()


RUN_PENDING = os.environ.get("CODEAGENT_RUN_PENDING") == "1"
"""Run scenarios marked ``pending`` too (they are expected to fail until the action supports them)."""
WORKERS = int(os.environ.get("CODEAGENT_E2E_WORKERS", "3"))
"""Scenarios run at once. Most of a run is waiting (on GitHub's pacing, a slow model, a retry's
backoff), and each run has its own emulators, work folder and run id, so they do not meet."""


@pytest.fixture(scope="session")
def reports(request, tmp_path_factory, action_image, released_run):
    """Each scenario the session selected, run once, ``WORKERS`` at a time, from the start; those with
    a timed expectation (`expectations.TIMED`) one at a time after all the others (and the released path's run)."""

    def run(path: Path) -> dict:
        work = tmp_path_factory.mktemp(path.name)
        report = run_scenario(load_scenario(path), work, action_image)
        out = tmp_path_factory.getbasetemp() / f"report-{path.parent.name}-{path.name}.json"
        out.write_text(json.dumps(report, indent=2))
        # The report keeps what a failure needs; the runner's folders may hold what the agent made, a
        # tree deeper than pytest's own clean-up of old sessions can remove (hostile-deep-tree).
        remove_tree(work)
        return report

    tmp_path_factory.getbasetemp()  # made once here: made lazily, each thread would make its own
    selected = _selected_scenarios(request.session.items)
    last = [path for path in selected if timed(path)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool, ThreadPoolExecutor(max_workers=1) as alone:
        futures = {path: pool.submit(run, path) for path in selected if path not in last}
        others = [*futures.values(), *([released_run] if released_run is not None else [])]

        def run_alone(path: Path) -> dict:
            wait(others)
            return run(path)

        futures.update({path: alone.submit(run_alone, path) for path in last})

        def report_of(path: Path) -> dict:
            if path not in futures:
                futures[path] = alone.submit(run_alone, path) if timed(path) else pool.submit(run, path)
            return futures[path].result()

        yield report_of
        for future in futures.values():
            future.cancel()


def _selected_scenarios(items) -> list[Path]:
    """The scenarios the collected tests will ask for, in test order."""
    paths = []
    for item in items:
        path = getattr(item, "callspec", None) and item.callspec.params.get("path")
        if item.originalname == "test_scenario" and path and (RUN_PENDING or not load_scenario(path).pending):
            paths.append(path)
        elif item.originalname == "test_add_word_count_opens_the_pull_request_issue_3_describes":
            paths.append(REPO_ROOT / "scenarios" / "add-word-count")
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_scenario(path: Path, reports) -> None:
    scenario = load_scenario(path)
    if scenario.pending and not RUN_PENDING:
        pytest.skip(f"pending: {scenario.pending}")
    report = reports(path)
    context = f"\n--- action log ---\n{report['log'][-6000:]}"
    assert REPORT_KEYS <= report.keys()
    assert report["containers_left"] == [], context
    assert report["leaked_secrets"] == [], context
    assert report["unknown_api_requests"] == [], context
    assert report["spec_violations"] == [], f"{describe(report['spec_violations'])}{context}"
    assert report["forced_pushes"] == [], context  # nothing is ever force-pushed, also when runs overlap
    assert report["unused_faults"] == [], f"faults that hit no request: {report['unused_faults']}{context}"
    assert len(report["runs"]) == len(scenario.runs())
    for number, run in enumerate(report["runs"], 1):
        run_context = f"\n--- action log of run {number} ---\n{run['log'][-6000:]}"
        assert RUN_REPORT_KEYS <= run.keys()
        result = run["outputs"].get("result")
        assert result in {"success", "no-changes", "failure", "skipped"}, run_context
        assert (run["exit_code"] != 0) == (result == "failure"), run_context
    check_invariants(report, context)
    check_expectations(scenario.raw.get("expect") or {}, report, context)


def test_add_word_count_opens_the_pull_request_issue_3_describes(reports) -> None:
    report = reports(REPO_ROOT / "scenarios" / "add-word-count")
    context = f"\n--- action log ---\n{report['log'][-6000:]}"
    assert report["exit_code"] == 0, context
    [branch] = [b for b in report["branches"] if b["name"] == "codeagent/issue-7"]
    first, implementation = branch["commits"]
    assert first["message"] == "codeagent: received #7, preparing to implement" and first["files"] == []
    assert sorted(implementation["files"]) == ["tests/test_word_count.py", "textstats/__init__.py"]
    assert implementation["author"].startswith("github-actions[bot] <")
    [pull] = report["pulls"]
    assert (pull["head"], pull["base"], pull["state"], pull["draft"]) == ("codeagent/issue-7", "main", "open", False)
    assert "Closes #7" in pull["body"] and "word_count(text)" in pull["body"]
    # The draft PR is opened before the agent starts (the prompt reads the thread after it)
    # and marked ready for review (GraphQL) only at the end.
    calls = [(r["method"], r["path"]) for r in report["api_requests"]]
    repo = "/repos/octo-org/textstats"
    assert calls.index(("POST", f"{repo}/pulls")) < calls.index(("GET", f"{repo}/issues/7/comments"))
    # One progress comment, posted right after the reaction and edited in place; its last
    # edit comes after the pull request is marked ready.
    [progress] = [c for c in report["issue_comments"] if c["author"] == "github-actions[bot]"]
    assert calls.index(("POST", f"{repo}/issues/7/comments")) == 2
    edit = ("PATCH", f"{repo}/issues/comments/{progress['id']}")
    assert calls[-1] == edit and calls.index(("POST", "/graphql")) < len(calls) - 1
    assert ("POST", f"{repo}/issues/comments") not in calls[3:]  # edited, never a second comment
    assert report["reactions"] == [{"comment_id": report["issue_comments"][0]["id"], "issue_number": 7,
                                    "content": "eyes", "author": "github-actions[bot]"}]
    body = progress["body"]
    assert pull_url(report) in body and "ready for review" in body
    assert body.count("✅") == 5 and "⬜" not in body  # the headline and the whole checklist
    assert f"{outputs_of(report)['turns']} turns" in body and "$" in body
    outputs = report["outputs"]
    assert outputs["result"] == "success" and outputs["branch"] == "codeagent/issue-7"
    assert outputs["pr-number"] == str(pull["number"]) and outputs["pr-url"] == pull_url(report)
    assert int(outputs["turns"]) >= 5 and float(outputs["cost-usd"]) > 0 and outputs["session-id"]
    for cell in ("success", "codeagent/issue-7", f"#{pull['number']}", "Cost"):
        assert cell in report["step_summary"]
    assert report["model_requests"] == 5


def outputs_of(report: dict) -> dict:
    return report["outputs"]


def pull_url(report: dict) -> str:
    return report["outputs"]["pr-url"]
