"""A stand-in Python package index on loopback: PEP 503 "simple" pages and the wheels they link.

The sandbox reaches it only through the gateway, under a test name (``pypi.bench.test``) the
bench maps in the gateway's resolver with the action container's ``CODEAGENT_GATEWAY_HOSTS``
(a setting of the runner's environment, never of the repository). It serves wheels of two
kinds: small ones built here from a few files, and pure-Python distributions installed in
the bench's own environment (pytest and its dependencies), packed back into wheels, so no
test needs the real index.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.metadata as metadata
import io
import re
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath

from packaging.requirements import Requirement


@dataclass(frozen=True)
class Wheel:
    """One wheel file: its name as pip expects it (``name-version-py3-none-any.whl``) and its bytes."""

    project: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def normalize(name: str) -> str:
    """A project name as the simple index spells it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_wheel(name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> Wheel:
    """A pure-Python wheel holding ``files`` (path -> text), with its metadata and RECORD."""
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    info = f"{stem}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires)
    members = {**{path: text.encode() for path, text in files.items()},
               f"{info}/METADATA": meta.encode(),
               f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: codeagent-bench\nRoot-Is-Purelib: true\n"
                                b"Tag: py3-none-any\n"}
    return Wheel(normalize(name), f"{stem}-py3-none-any.whl", _zip(members, f"{info}/RECORD"))


def installed_wheels(*projects: str) -> list[Wheel]:
    """Wheels of ``projects`` as installed here, with the dependencies they need here, each once."""
    wheels: dict[str, Wheel] = {}
    pending = list(projects)
    while pending:
        project = normalize(pending.pop())
        if project in wheels:
            continue
        distribution = metadata.distribution(project)
        wheels[project] = _repack(distribution)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(wheels.values())


def _repack(distribution: metadata.Distribution) -> Wheel:
    """An installed pure-Python distribution as the wheel it came from (scripts are made from entry points)."""
    wheel_info = distribution.read_text("WHEEL") or ""
    if "Root-Is-Purelib: true" not in wheel_info:
        raise ValueError(f"{distribution.metadata['Name']} is not pure Python; the stand-in index cannot serve it")
    info_dir = next(str(path.parent) for path in distribution.files or [] if path.name == "METADATA")
    members = {}
    for path in distribution.files or []:
        name = str(PurePosixPath(*path.parts))
        if name.startswith("..") or "__pycache__" in path.parts or name.endswith("/RECORD") \
                or name.endswith(("/INSTALLER", "/REQUESTED", "/direct_url.json")):
            continue
        members[name] = path.locate().read_bytes()
    stem = info_dir.removesuffix(".dist-info")
    return Wheel(normalize(distribution.metadata["Name"]), f"{stem}-py3-none-any.whl",
                 _zip(members, f"{info_dir}/RECORD"))


def _zip(members: dict[str, bytes], record: str) -> bytes:
    lines = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}")
    lines.append(f"{record},,")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*members.items(), (record, ("\n".join(lines) + "\n").encode())]:
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


class PackageIndex:
    """Serves ``wheels`` on ``127.0.0.1:port`` while entered; ``requests`` lists the paths asked for."""

    def __init__(self, wheels: list[Wheel]) -> None:
        self.wheels = wheels
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.index = self  # type: ignore[attr-defined]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> PackageIndex:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request path."""
        parts = [part for part in path.split("?")[0].split("/") if part]
        if parts == ["simple"]:
            links = sorted({wheel.project for wheel in self.wheels})
            return 200, "text/html", _html([(f"/simple/{name}/", name) for name in links])
        if len(parts) == 2 and parts[0] == "simple":
            found = [wheel for wheel in self.wheels if wheel.project == normalize(parts[1])]
            links = [(f"/files/{wheel.filename}#sha256={wheel.sha256}", wheel.filename) for wheel in found]
            return (200, "text/html", _html(links)) if found else (404, "text/plain", b"not found\n")
        if len(parts) == 2 and parts[0] == "files":
            for wheel in self.wheels:
                if wheel.filename == parts[1]:
                    return 200, "application/octet-stream", wheel.data
        return 404, "text/plain", b"not found\n"


def _html(links: list[tuple[str, str]]) -> bytes:
    anchors = "\n".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a><br>' for href, text in links)
    return f"<!DOCTYPE html>\n<html><body>\n{anchors}\n</body></html>\n".encode()


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        index: PackageIndex = self.server.index  # type: ignore[attr-defined]
        index.requests.append(self.path)
        status, content_type, body = index.page(self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: ``requests`` keeps what matters."""
