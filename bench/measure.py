"""``scripts/bench``: the README's numbers, measured side by side, medians over several runs.

    scripts/bench [--runs N] [--only images,overhead,large,gateway] [--baseline REV] [--out FILE]

* images:   a cold build of the Dockerfile (what `image: Dockerfile` costs every job) against a cold
            pull of the published images from a local registry (what a released action costs),
            each on an empty engine of its own (`bench.scratch_engine`); the images' compressed sizes.
* overhead: the bundled scenario on this commit (Dockerfile and released path) and on the baseline
            commit (checked out with `git worktree add --detach`, its image built from there and run by
            this bench, so that only the action differs): REST/GraphQL
            requests besides the progress comment's edits, and the action's own overhead, the
            container's wall time minus the time the scripted model took.
* large:    the same overhead on the bundled scenario with 50,000 more files in the repository.
* gateway:  what the gateway adds to a model request: through the sandbox's forwarder and the unix
            socket against straight to the scripted model server, median and p95.

Writes a Markdown table (``--out``, default bench-out/bench.md) and the raw samples beside it (.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.registry import LocalRegistry
from bench.release import ActionImage, forget, publish
from bench.run import ACTION_IMAGE, BASE_IMAGE, REPO_ROOT, build, run_scenario
from bench.runner import build_action_image, remove_tree
from bench.scenario import load_scenario
from bench.scratch_engine import ScratchEngine

SCENARIO = REPO_ROOT / "scenarios" / "add-word-count"
PROGRESS_MARKER = "<!-- codeagent:progress"
LARGE_FILES = 50_000
BASELINE = "44a539f"
SECTIONS = ("images", "overhead", "large", "gateway")

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")


# -- images -----------------------------------------------------------------------------------

def measure_images(runs: int, work: Path) -> dict:
    """Cold build of the Dockerfile vs cold pull of the released images, each on an empty engine."""
    samples: dict[str, list[float]] = {"build_s": [], "pull_action_s": [], "pull_both_s": []}
    with LocalRegistry() as registry:
        release = publish(registry, work / "release", BASE_IMAGE)
        sizes = {"action": registry_size(registry.host, release.action_image),
                 "sandbox": registry_size(registry.host, release.sandbox_image)}
        for run in range(runs):
            with ScratchEngine() as engine:
                engine.load_from_shared(BASE_IMAGE)  # the base image a runner pulls first; not timed
                samples["build_s"].append(engine.docker("build", "-q", "--network", "host", "--build-arg",
                                                        f"BASE_IMAGE={BASE_IMAGE}", "-t", "codeagent-cold:build",
                                                        str(REPO_ROOT)))
            with ScratchEngine() as engine:
                action = engine.docker("pull", "-q", release.action_image)
                sandbox = engine.docker("pull", "-q", f"{release.sandbox_image.rsplit(':', 1)[0]}"
                                                      f"@{release.sandbox_digest}")
                samples["pull_action_s"].append(action)
                samples["pull_both_s"].append(action + sandbox)
            print(f"images run {run + 1}: build {samples['build_s'][-1]:.1f} s, pull action "
                  f"{samples['pull_action_s'][-1]:.1f} s, both {samples['pull_both_s'][-1]:.1f} s", file=sys.stderr)
    return {"samples": samples, "sizes_mb": sizes}


def registry_size(host: str, ref: str) -> float:
    """Compressed size (MB) of ``ref`` as the registry stores it: config and layers."""
    name, tag = ref.removeprefix(host + "/").rsplit(":", 1)
    request = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{tag}",
                                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        manifest = json.load(answer)
    total = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return round(total / 1e6, 1)


# -- overhead ---------------------------------------------------------------------------------

def run_summary(report: dict) -> dict:
    """Overhead, requests (besides the progress comment's edits) and the result of one report."""
    progress = {c["id"] for c in report["issue_comments"] if PROGRESS_MARKER in c["body"]}
    times = [r["time"] for r in report["api_requests"] if "time" in r]
    edits = [r for r in report["api_requests"]
             if r["method"] == "PATCH" and any(r["path"].endswith(f"/issues/comments/{i}") for i in progress)]
    return {"overhead_s": round(report["duration_s"] - report["model_s"], 2), "duration_s": report["duration_s"],
            "model_s": report["model_s"], "requests": len(report["api_requests"]) - len(edits),
            "progress_edits": len(edits), "result": report["outputs"].get("result"),
            "image_pull_s": report.get("image_pull_s"), "first_request_s": min(times) if times else None,
            "phases": phases(report.get("step_summary") or "")}


def phases(summary: str) -> dict[str, float]:
    """The step summary's "Phases" table: seconds by phase."""
    found = {}
    for line in summary.split("### Phases", 1)[-1].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1].endswith(" s"):
            try:
                found[cells[0]] = float(cells[1][:-2])
            except ValueError:
                continue
    return found


def run_once(image: ActionImage, scenario: Path, label: str) -> dict:
    """One run of ``scenario`` with this commit's bench; its summary."""
    work = Path(tempfile.mkdtemp(prefix="codeagent-bench-"))
    if image.pull:  # as on a runner, each job pulls: the engine keeps no tag of it between runs
        forget(image.ref)
    try:
        summary = run_summary(run_scenario(load_scenario(scenario), work, image))
    finally:
        remove_tree(work)
    print(f"  {label}: {summary}", file=sys.stderr)
    return summary


class Baseline:
    """The baseline commit checked out beside this one (``git worktree add --detach``), its action image built
    from that checkout as the runner builds it, and run by this bench: the same emulator, model server and
    runner as this commit's runs, so that only the action differs. Removed at the end."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.checkout = Path(tempfile.mkdtemp(prefix="codeagent-baseline-src-"))
        self.image = ActionImage(f"{ACTION_IMAGE}-baseline", action_yml=self.checkout / "action.yml")

    def __enter__(self) -> Baseline:
        self.checkout.rmdir()
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "-q", "--detach", str(self.checkout),
                        self.revision], check=True)
        build_action_image(self.checkout, self.image.ref, BASE_IMAGE)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(self.checkout)], check=False)

    def run_once(self) -> dict:
        return run_once(self.image, SCENARIO, f"baseline {self.revision}")


def measure_overhead(runs: int, image: ActionImage, baseline: str, work: Path) -> dict:
    """This commit (Dockerfile and released path) and the baseline, one run of each in turn, so that
    the machine's load falls on all three alike."""
    results: dict = {"current": [], "released": [], "baseline": []}
    with LocalRegistry() as registry, Baseline(baseline) as old:
        release = publish(registry, work / "release-overhead", BASE_IMAGE)
        results["sizes_mb"] = {"action": registry_size(registry.host, release.action_image),
                               "sandbox": registry_size(registry.host, release.sandbox_image)}
        for _ in range(runs):
            results["current"].append(run_once(image, SCENARIO, "this commit"))
            results["released"].append(run_once(release.image, SCENARIO, "this commit, released"))
            results["baseline"].append(old.run_once())
    return results


def large_scenario(work: Path, files: int = LARGE_FILES) -> Path:
    """The bundled scenario with ``files`` more small files in the repository (in 100 folders)."""
    scenario = work / f"add-word-count-{files}-files"
    shutil.copytree(SCENARIO, scenario)
    data = scenario / "repo" / "data"
    for number in range(files):
        folder = data / f"d{number % 100:02d}"
        if number < 100:
            folder.mkdir(parents=True)
        (folder / f"f{number:05d}.txt").write_text(f"line {number}\n")
    return scenario


# -- gateway ----------------------------------------------------------------------------------

LATENCY_CLIENT = r"""
import http.client, json, sys, time
base, count, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = base.split("//")[1].split(":")
body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
                   "messages": [{"role": "user", "content": "ping"}]}).encode()
headers = {"content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01"}
connection = http.client.HTTPConnection(host, int(port), timeout=30)
times = []
for _ in range(count):
    started = time.perf_counter()
    connection.request("POST", "/v1/messages", body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    times.append((time.perf_counter() - started) * 1000)
    assert answer.status == 200, answer.status
print(json.dumps(times))
"""


def measure_gateway(image: str, rounds: int, per_round: int = 200, warmup: int = 20) -> dict:
    """Per-request latency through forwarder + socket + gateway vs straight to the model server (ms)."""
    import docker

    from bench.model.server import ModelServer
    from codeagent.gateway import VENDORS, EgressPolicy, Gateway, Ledger, Upstream

    client = docker.from_env()
    key = "sk-ant-bench-latency"
    samples: dict[str, list[float]] = {"direct_ms": [], "gateway_ms": []}
    with tempfile.TemporaryDirectory(prefix="codeagent-gateway-bench-") as folder, \
            ModelServer([], "/tmp", api_key=key) as model:
        socket_dir = Path(folder) / "gateway"
        gateway = Gateway(socket_dir / "gateway.sock", Upstream(VENDORS["anthropic"], model.url, key),
                          EgressPolicy("none"), Ledger())
        with gateway:
            os.chmod(socket_dir, 0o755)
            forward = ["/opt/codeagent/cli/codeagent-forward", "3128", "/run/codeagent/gateway.sock", "--"]
            for _ in range(rounds):
                # Straight to the model server with the key; through the gateway with a placeholder, as the
                # sandbox has it (the gateway puts the key on).
                direct = _latency_container(client, image, _python(model.url, per_round, key), network="host")
                through = _latency_container(client, image,
                                             [*forward, *_python("http://127.0.0.1:3128", per_round, "placeholder")],
                                             network="none", socket_dir=socket_dir)
                samples["direct_ms"] += direct[warmup:]
                samples["gateway_ms"] += through[warmup:]
    return samples


def _python(base: str, count: int, key: str) -> list[str]:
    return ["python3", "-c", LATENCY_CLIENT, base, str(count), key]


def _latency_container(client, image: str, command: list[str], network: str, socket_dir: Path | None = None):
    volumes = {str(socket_dir): {"bind": "/run/codeagent", "mode": "ro"}} if socket_dir else {}
    output = client.containers.run(image, command, entrypoint=[], network_mode=network, volumes=volumes,
                                   user="1001:1001", labels={"codeagent.test": "bench-gateway"}, remove=True,
                                   stdout=True, stderr=False)
    return json.loads(output.decode().strip().splitlines()[-1])


# -- the table --------------------------------------------------------------------------------

def table(results: dict, runs: int, baseline: str) -> str:
    rows = ["| measure | this commit | baseline | target |", "| --- | --- | --- | --- |"]
    if "images" in results:
        images, samples = results["images"], results["images"]["samples"]
        build_s, pull_s, both_s = (median(samples[k]) for k in ("build_s", "pull_action_s", "pull_both_s"))
        rows += [f"| cold `docker build` of the Dockerfile (median of {runs}) | {build_s:.1f} s | | |",
                 f"| cold pull of the released action image (median of {runs}) | {pull_s:.1f} s "
                 f"({build_s / pull_s:.1f}× faster than the build) | | ≥ 3× faster than the build |",
                 f"| cold pull of the action and the sandbox image (median of {runs}) | {both_s:.1f} s "
                 f"({build_s / both_s:.1f}× faster) | | |",
                 f"| compressed size: action image / sandbox image | {images['sizes_mb']['action']:.0f} MB / "
                 f"{images['sizes_mb']['sandbox']:.0f} MB | | |"]
    if "images" not in results and "sizes_mb" in results.get("overhead", {}):
        sizes = results["overhead"]["sizes_mb"]
        rows.append(f"| compressed size: action image / sandbox image | {sizes['action']:.0f} MB / "
                    f"{sizes['sandbox']:.0f} MB | | |")
    if "overhead" in results:
        overhead = results["overhead"]
        now, released, old = overhead["current"], overhead.get("released", []), overhead.get("baseline", [])

        def cell(summaries: list[dict], key: str, unit: str = " s") -> str:
            values = [s[key] for s in summaries]
            return f"{median(values):.2f}{unit}" if values else "–"

        rows += [f"| bundled scenario: requests besides progress edits (median of {runs}) | "
                 f"{cell(now, 'requests', '')} (+{cell(now, 'progress_edits', '')} edits) | "
                 f"{cell(old, 'requests', '')} (+{cell(old, 'progress_edits', '')} edits) | ≤ 10 |",
                 f"| bundled scenario: overhead = container wall time − model time (median of {runs}) | "
                 f"{cell(now, 'overhead_s')} | {cell(old, 'overhead_s')} ({baseline}) | ≤ half the baseline |"]
        if released:
            rows.append(f"| the same, released image (sandbox pulled in the background; median of {runs}) | "
                        f"{cell(released, 'overhead_s')} (action pulled in {cell(released, 'image_pull_s')}) | | |")
    if "large" in results:
        large, small = results["large"], results["large_small"]
        ratio = (median([s["overhead_s"] for s in large]) / median([s["overhead_s"] for s in small])
                 if small else float("nan"))
        rows.append(f"| overhead with {LARGE_FILES:,} more files in the repository (median of {runs}; the "
                    f"bundled one {median([s['overhead_s'] for s in small]):.2f} s in the same turns) | "
                    f"{median([s['overhead_s'] for s in large]):.2f} s ({ratio:.2f}× the small one) | | ≤ 1.5× |")
    if "gateway" in results:
        samples = results["gateway"]
        direct, through = samples["direct_ms"], samples["gateway_ms"]
        rows += [f"| model request straight to the scripted model: median / p95 ({len(direct)} requests) | "
                 f"{median(direct):.2f} / {p95(direct):.2f} ms | | |",
                 f"| the same through forwarder, socket and gateway: median / p95 | "
                 f"{median(through):.2f} / {p95(through):.2f} ms | | |",
                 f"| gateway's added latency: median / p95 | {median(through) - median(direct):.2f} / "
                 f"{p95(through) - p95(direct):.2f} ms | | < 5 ms median |"]
    return "\n".join(rows) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="samples per measure (default %(default)s)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections (default: all)")
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with (default %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-out" / "bench.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        sys.exit(f"scripts/bench: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    work = Path(tempfile.mkdtemp(prefix="codeagent-measure-"))
    results: dict = {"runs": args.runs, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save = lambda: args.out.with_suffix(".json").write_text(json.dumps(results, indent=2))  # noqa: E731
    try:
        image = build() if {"overhead", "large", "gateway"} & set(sections) else None
        if "images" in sections:
            results["images"] = measure_images(args.runs, work)
            save()  # each section's samples are kept, whatever happens in a later one
        if "overhead" in sections:
            results["overhead"] = measure_overhead(args.runs, image, args.baseline, work)
            save()
        if "large" in sections:
            large = large_scenario(work)
            results["large"], small = [], []
            for _ in range(args.runs):  # in turn with the small one, under the same load
                small.append(run_once(image, SCENARIO, "small repository"))
                results["large"].append(run_once(image, large, f"{LARGE_FILES:,} more files"))
            results["large_small"] = small
            save()
        if "gateway" in sections:
            results["gateway"] = measure_gateway(image.ref, rounds=args.runs)
    finally:
        remove_tree(work)
    text = table(results, args.runs, args.baseline)
    args.out.write_text(text)
    save()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
