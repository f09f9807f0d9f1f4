"""HTTP plumbing of the GitHub emulator: request bodies, credentials, GitHub's response headers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any

API_VERSION = "2022-11-28"
RATE_LIMIT = 5000


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whole; git sends ``Transfer-Encoding: chunked`` for pushes over 1 MB."""
    if "chunked" not in handler.headers.get("Transfer-Encoding", "").lower():
        return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    chunks = []
    while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()
    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
        pass
    return b"".join(chunks)


def credential(header: str | None) -> str | None:
    """The token in an Authorization header: ``token X``, ``Bearer X`` or Basic with the token as password.

    Like GitHub, Basic also takes the token as user name (``https://TOKEN@host/...``).
    """
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() in ("token", "bearer"):
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return password if password and password != "x-oauth-basic" else user or None


def send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        if name.lower() != "content-length":
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def payload_bytes(data: Any) -> bytes:
    """An answer's body: bytes and text as they are, anything else as compact JSON like GitHub's."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return b"" if data is None else json.dumps(data, separators=(",", ":")).encode()


def request_id() -> str:
    """An ``x-github-request-id`` like ``C0DE:1A2B3C:4D5E6F7:8A9B0C1:65A1B2C3``."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4))


def api_headers(status: int, body: bytes, used: int, reset: int, resource: str) -> dict[str, str]:
    """The headers GitHub puts on every REST and GraphQL answer."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-GitHub-Request-Id": request_id(),
        "X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
        "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": str(used), "X-RateLimit-Resource": resource,
        "X-GitHub-Api-Version-Selected": API_VERSION, "X-GitHub-Media-Type": "github.v3; format=json",
        "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding",
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "deny",
        "Access-Control-Allow-Origin": "*",
    }
    if status == 204:
        del headers["Content-Type"]
    if status < 300 and body:
        headers["ETag"] = f'W/"{hashlib.sha256(body).hexdigest()}"'
        headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
    return headers
