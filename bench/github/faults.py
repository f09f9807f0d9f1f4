"""Fault injection for the GitHub emulator: make the next N matching requests fail or wait.

    github.faults.add("POST", r"/issues/\\d+/comments$", status=502, times=2)
    github.faults.rate_limited("GET", r"/pulls", reset_in=1)
    github.faults.secondary_rate_limited("*", r"", retry_after=1)
    github.faults.add("GET", r"/repos/", delay=0.5)      # slow, then served normally

``path`` is a regex searched in the path as GitHub.com would see it: REST paths
without the ``/api/v3`` prefix, ``/graphql``, git paths as they are.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

RATE_LIMIT_DOC = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
PRIMARY_RATE_LIMIT_BODY = {"message": "API rate limit exceeded for installation ID 1.",
                           "documentation_url": RATE_LIMIT_DOC, "status": "403"}
SECONDARY_RATE_LIMIT_BODY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you "
               "reach out to GitHub Support for help, please include the request ID "
               "0000:0000:0000000:0000000:00000000.",
    "documentation_url": f"{RATE_LIMIT_DOC}#about-secondary-rate-limits", "status": "403"}


@dataclass
class Fault:
    """Answer ``status`` with ``body`` and ``headers`` (after ``delay`` seconds) ``times`` times.

    Without a status the request only waits ``delay`` and is then served as usual.
    ``reset_in`` adds ``x-ratelimit-reset`` that many seconds after the faulty answer.
    """

    method: str
    path: re.Pattern
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    reset_in: float | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.hits < self.times and self.method in ("*", method) and bool(self.path.search(path))

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.reset_in is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time() + self.reset_in))
        return headers

    def response_body(self) -> Any:
        if self.body is not None:
            return self.body
        return {"message": HTTPStatus(self.status).phrase, "documentation_url": "https://docs.github.com/rest",
                "status": str(self.status)}


class Faults:
    """The faults waiting for requests; the first match (in order added) applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending: list[Fault] = []

    def add(self, method: str, path: str, *, status: int | None = None, body: Any = None,
            headers: dict[str, str] | None = None, delay: float = 0.0, times: int = 1,
            reset_in: float | None = None) -> Fault:
        """Fail (or delay) the next ``times`` requests whose method and path match; ``method`` "*" is any."""
        fault = Fault(method.upper() if method != "*" else "*", re.compile(path), status, body,
                      dict(headers or {}), delay, times, reset_in)
        with self._lock:
            self.pending.append(fault)
        return fault

    def rate_limited(self, method: str, path: str, *, times: int = 1, reset_in: float = 1.0) -> Fault:
        """GitHub's primary rate limit: 403, ``x-ratelimit-remaining: 0`` and the reset time."""
        return self.add(method, path, status=403, body=PRIMARY_RATE_LIMIT_BODY, times=times, reset_in=reset_in,
                        headers={"X-RateLimit-Remaining": "0"})

    def secondary_rate_limited(self, method: str, path: str, *, times: int = 1, retry_after: int = 1) -> Fault:
        """GitHub's secondary rate limit: 403 with ``retry-after``."""
        return self.add(method, path, status=403, body=SECONDARY_RATE_LIMIT_BODY, times=times,
                        headers={"Retry-After": str(retry_after)})

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as used."""
        with self._lock:
            for fault in self.pending:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.pending.clear()
