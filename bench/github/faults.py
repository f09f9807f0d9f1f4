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


@dataclass(frozen=True)
class GitHubFault:
    """The emulator misbehaving on matching requests, as a scenario's ``faults.github`` entry says it."""

    method: str
    """``GET``, ``POST``...; ``*`` is any."""
    path: str
    """A regex searched in the path as GitHub.com sees it: REST without ``/api/v3``, ``/graphql``, git paths."""
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    rate_limit: str | None = None
    """``primary`` or ``secondary``: GitHub's body and headers for that limit (status 403 unless given)."""
    reset_in: float | None = None
    retry_after: float | None = None

    def resolved(self) -> Fault:
        """The fault as the emulator answers it: the rate-limit shorthands turned into GitHub's answers."""
        headers, body, status, reset_in = dict(self.headers), self.body, self.status, self.reset_in
        if self.rate_limit == "primary":
            body = body if body is not None else PRIMARY_RATE_LIMIT_BODY
            headers = {"X-RateLimit-Remaining": "0", **headers}
            reset_in = reset_in if reset_in is not None else 1.0
        retry_after = self.retry_after if self.retry_after is not None else 1 if self.rate_limit == "secondary" \
            else None
        if self.rate_limit == "secondary":
            body = body if body is not None else SECONDARY_RATE_LIMIT_BODY
        if retry_after is not None:
            headers = {"Retry-After": f"{retry_after:g}", **headers}
        if self.rate_limit and status is None:
            status = 403
        return Fault(self.method.upper() if self.method != "*" else "*", re.compile(self.path), status, body,
                     headers, self.delay, self.times, reset_in)


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

    def add(self, method: str, path: str, **spec: Any) -> Fault:
        """Fail (or delay) the next requests whose method and path match; ``method`` "*" is any.
        ``spec`` takes `GitHubFault`'s other fields (status, body, headers, times, delay, rate_limit, ...)."""
        return self.install(GitHubFault(method, path, **spec))

    def install(self, spec: GitHubFault) -> Fault:
        fault = spec.resolved()
        with self._lock:
            self.pending.append(fault)
        return fault

    def rate_limited(self, method: str, path: str, *, times: int = 1, reset_in: float = 1.0) -> Fault:
        """GitHub's primary rate limit: 403, ``x-ratelimit-remaining: 0`` and the reset time."""
        return self.add(method, path, rate_limit="primary", times=times, reset_in=reset_in)

    def secondary_rate_limited(self, method: str, path: str, *, times: int = 1, retry_after: int = 1) -> Fault:
        """GitHub's secondary rate limit: 403 with ``retry-after``."""
        return self.add(method, path, rate_limit="secondary", times=times, retry_after=retry_after)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as used."""
        with self._lock:
            for fault in self.pending:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def remove(self, fault: Fault) -> None:
        """Drop one fault (a run's own, when runs overlap), whether or not it hit anything."""
        with self._lock:
            self.pending = [pending for pending in self.pending if pending is not fault]

    def clear(self) -> None:
        with self._lock:
            self.pending.clear()
