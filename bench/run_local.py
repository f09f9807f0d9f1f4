"""``scripts/run-local``: run the action on one scenario, as a GitHub runner would.

Prints a short account of what happened and writes the JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from pathlib import Path

from bench.registry import LocalRegistry
from bench.release import ActionImage, publish
from bench.run import ACTION_IMAGE, BASE_IMAGE, REPO_ROOT, build, run_scenario
from bench.runner import remove_tree
from bench.scenario import load_scenario

DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "add-word-count"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/run-local", description=__doc__)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario folder (default: %(default)s)")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--keep", action="store_true", help="keep the runner's work folder for a look afterwards")
    parser.add_argument("--no-build", action="store_true", help="use the action image as last built")
    parser.add_argument("--released", action="store_true",
                        help="the released path: publish both images with scripts/release to a local registry, "
                             "then pull the action image from docker://localhost:PORT/... and run it")
    return parser.parse_args(argv)


def account(report: dict) -> str:
    """A few lines a person reads: result of each run, PRs, commits, comments."""
    runs = report.get("runs") or [report]
    image = report.get("action_image", "")
    lines = [f"action image {image}: " + (f"pulled in {report['image_pull_s']} s" if report.get("image_pull_s") is not None
                                           else f"built in {report.get('image_build_s')} s")] if image else []
    lines += [f"{f'run {n}: ' if len(runs) > 1 else ''}exit code {run['exit_code']}, "
             f"result {run['outputs'].get('result', '-')}, {run['duration_s']} s ({run['model_s']} s in the model), "
             f"{run['model_requests']} model requests"
             + (f", cancelled at {run['cancel']['at_s']} s ({', '.join(run['cancel']['signals'])})"
                if run.get("cancel") else "") for n, run in enumerate(runs, 1)]
    for pull in report["pulls"]:
        fork = f"{pull['head_repo']}:" if pull["head_repo"].lower() != report["repository"].lower() else ""
        lines.append(f"PR #{pull['number']} {pull['state']}{' draft' if pull['draft'] else ''}: "
                     f"{pull['title']} ({fork}{pull['head']} -> {pull['base']})")
    for branch in report["branches"]:
        lines.append(f"branch {branch['name']}:")
        lines += [f"  {c['sha'][:8]} {c['message'].splitlines()[0]}  [{', '.join(c['files'])}]" for c in branch["commits"]]
    for comment in report["issue_comments"]:
        shown = [line for line in comment["body"].splitlines() if line.strip() and not line.startswith("<!--")]
        first = (shown or [""])[0]
        lines.append(f"comment on #{comment['issue_number']} by {comment['author']}: {first[:100]}")
    for comment in report.get("review_comments", []):
        first = (comment["body"].strip().splitlines() or [""])[0]
        where = f"{comment['path']}:{comment['line']}" + (" (reply)" if comment["in_reply_to"] else "")
        lines.append(f"review comment on #{comment['pull_number']} {where} by {comment['author']}: {first[:80]}")
    if report["containers_left"]:
        lines.append(f"containers left behind: {report['containers_left']}")
    if report["unused_faults"]:
        lines.append(f"faults that hit no request: {report['unused_faults']}")
    if report["leaked_secrets"]:
        lines.append(f"LEAKED SECRETS: {report['leaked_secrets']}")
    return "\n".join(lines)


def broken_report(name: str, error: str) -> dict:
    """A report with every key, for a run the bench could not complete."""
    return {"scenario": name, "repository": "", "exit_code": None, "outputs": {}, "step_summary": "", "pulls": [],
            "branches": [], "issue_comments": [], "review_comments": [], "reviews": [], "reactions": [],
            "model_requests": 0, "leaked_secrets": [], "api_requests": [], "log": "bench error:\n" + error,
            "containers_left": [], "duration_s": 0.0, "model_s": 0.0, "prompts": [], "model_request_messages": 0,
            "first_request_text": "", "issue_number": None, "pull_number": None, "bench_comment_ids": [],
            "unknown_api_requests": [], "cancel": None, "transcript_result": None, "unused_faults": [], "runs": [],
            "user_messages": [], "index_requests": [], "action_image": "", "image_build_s": None,
            "image_pull_s": None}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scenario = load_scenario(args.scenario)
    work_root = Path(tempfile.mkdtemp(prefix=f"codeagent-run-{scenario.name}-"))
    try:
        if args.released:
            with LocalRegistry() as registry:  # stopped, and its storage removed, right after the run
                release = publish(registry, work_root / "release", BASE_IMAGE)
                print(f"published {release.action_image} and {release.sandbox_image} to the local registry in "
                      f"{release.publish_s:.1f} s", file=sys.stderr)
                report = run_scenario(scenario, work_root, release.image)
        else:
            report = run_scenario(scenario, work_root, build() if not args.no_build else ActionImage(ACTION_IMAGE))
    except Exception:  # the bench itself broke: still write a complete report
        report = broken_report(scenario.name, traceback.format_exc())
    finally:
        if args.keep:
            print(f"runner work folder kept: {work_root}", file=sys.stderr)
        else:
            remove_tree(work_root)
    print(report["log"].rstrip() + "\n" + "-" * 60)
    print(account(report))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
        print(f"report: {args.report}")
    return 0 if report["exit_code"] is not None else 2


if __name__ == "__main__":
    sys.exit(main())
