"""Download one pinned artifact for the image build and check its hash (stdlib only).

    fetch.py URL INTEGRITY OUT
        any URL; INTEGRITY is npm's "sha512-<base64>" (`npm view PKG@V dist.integrity`)
        or "sha256:<hex>".
    fetch.py pypi:NAME==VERSION:FILENAME_SUFFIX INTEGRITY OUT
        the one file of that release whose name ends with FILENAME_SUFFIX
        (e.g. "manylinux_2_17_x86_64.whl"), found with PyPI's JSON simple API (PEP 691).

Runs in a build stage that has only python3 and ca-certificates, so the downloads
can proceed in parallel with the apt layer under BuildKit.
"""
import base64
import hashlib
import json
import sys
import urllib.request

UA = {"User-Agent": "codeagent-image-build"}


def resolve_pypi(spec: str) -> str:
    name_version, suffix = spec[len("pypi:"):].rsplit(":", 1)
    name, version = name_version.split("==")
    req = urllib.request.Request(
        f"https://pypi.org/simple/{name}/",
        headers={**UA, "Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        files = json.load(r)["files"]
    prefix = f"{name.replace('-', '_')}-{version}-"
    hits = [f["url"] for f in files if f["filename"].startswith(prefix) and f["filename"].endswith(suffix)]
    if len(hits) != 1:
        sys.exit(f"fetch.py: {len(hits)} files of {name}=={version} end with {suffix!r}")
    return hits[0]


def main() -> None:
    fetch(*sys.argv[1:4])


def fetch(source: str, integrity: str, out: str) -> None:
    """Download ``source`` to ``out``; exit with a message when its hash is not ``integrity``.
    (bench/clis.py fetches the bench's own copies of the agent CLIs with it.)"""
    url = resolve_pypi(source) if source.startswith("pypi:") else source
    algo, _, want = integrity.replace(":", "-", 1).partition("-")
    digest = hashlib.new(algo)
    req = urllib.request.Request(url, headers=UA)
    with urllib.request.urlopen(req, timeout=300) as r, open(out, "wb") as f:
        while chunk := r.read(1 << 20):
            digest.update(chunk)
            f.write(chunk)
    got = digest.hexdigest() if algo == "sha256" else base64.b64encode(digest.digest()).decode()
    if got != want:
        sys.exit(f"fetch.py: {url}: {algo} is {got}, expected {want}")
    print(f"fetch.py: {url} ok")


if __name__ == "__main__":
    main()
