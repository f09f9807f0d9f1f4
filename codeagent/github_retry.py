"""Retrying GitHub API calls through what GitHub really does, every wait bounded.

The policy, for one call of `GitHubClient` (which may be several requests):

* A 5xx answer, a timeout or a connection error: up to ``ATTEMPTS`` attempts, waiting
  1, 2, 4 s (at most ``BACKOFF_CAP``) in between, each times a random factor from 0.5
  to 1 so that runners which failed together do not retry together.
* Primary rate limit (403/429 with ``x-ratelimit-remaining: 0``): wait until
  ``x-ratelimit-reset`` once, when that is at most ``MAX_RATE_LIMIT_WAIT`` away; else
  fail at once, saying when the token's hourly quota comes back.
* Secondary rate limit (403/429 with ``retry-after``, or a body that says so): wait what
  ``retry-after`` asks, at most ``MAX_SECONDARY_WAIT`` (asking more fails at once), or
  ``SECONDARY_WAIT`` without it, as GitHub documents:
  https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
* The waits of one call add up to at most ``MAX_TOTAL_WAIT``, and every request has a
  timeout, so a call ends within ATTEMPTS × timeout + MAX_TOTAL_WAIT.

Writes that create something (a comment, a pull request) are retried too, but GitHub
may have done what a request asked although its answer was a 5xx or never came: a
502/504 from GitHub's gateway or our own read timeout can arrive after the comment was
stored. Sending it again blindly could post it twice; giving up would fail a whole run
over a blip. So before such a write is sent again, the caller's ``find_done`` looks for
its result, and when that is there it is the answer. Edits, reactions and reads give
the same result when repeated, so they are simply sent again.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Callable, TypeVar

import requests
from github import GithubException

from codeagent.errors import GitHubError

ATTEMPTS = 4
BACKOFF_BASE = 1.0
BACKOFF_CAP = 8.0
MAX_RATE_LIMIT_WAIT = 60.0
"""Longest wait for the primary rate limit to reset; a later reset fails the call at once."""
SECONDARY_WAIT = 60.0
MAX_SECONDARY_WAIT = 120.0
MAX_TOTAL_WAIT = 180.0
NETWORK_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                  requests.exceptions.ChunkedEncodingError)
T = TypeVar("T")


@dataclass(frozen=True)
class Pause:
    """A wait before the next attempt: how long, what to log, and what to say if there is no next attempt."""

    seconds: float
    note: str
    gave_up: str
    rate_limit: str = ""
    """``primary`` or ``secondary`` when the wait is for a rate limit."""


class Retrying:
    """Runs a GitHub call under the policy above; ``sleep`` and ``clock`` (epoch seconds) are injectable."""

    def __init__(self, api_url: str, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, on_wait: Callable[[str], None] | None = None,
                 jitter: Callable[[], float] = random.random) -> None:
        self.api_url = api_url
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._on_wait = on_wait or (lambda note: None)

    def call(self, action: str, send: Callable[[], T], find_done: Callable[[], T | None] | None = None) -> T:
        """``send()``, retried; before sending again, ``find_done()`` may return what an earlier try did.

        Raises GitHubError when retrying cannot help; other failures (a 404, a 422) propagate as they are.
        """
        waited, waited_for = 0.0, set()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                done = find_done() if find_done is not None and attempt > 1 else None
                return done if done is not None else send()
            except (GithubException, *NETWORK_ERRORS) as error:
                pause = self._pause_after(action, error, attempt, waited)
                if pause is None:
                    raise
                if attempt == ATTEMPTS or waited + pause.seconds > MAX_TOTAL_WAIT or \
                        (pause.rate_limit == "primary" and pause.rate_limit in waited_for):
                    raise GitHubError(pause.gave_up) from error
                self._on_wait(pause.note)
                self._sleep(pause.seconds)
                waited += pause.seconds
                waited_for.add(pause.rate_limit)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _pause_after(self, action: str, error: Exception, attempt: int, waited: float) -> Pause | None:
        """How long to wait after ``error``; None when retrying cannot help. Raises when the wait is too long."""
        if isinstance(error, NETWORK_ERRORS):
            reason = network_reason(error)
            return self._backoff(attempt, f"{action}: no answer from GitHub ({reason})", (
                f"{action}: could not reach the GitHub API at {self.api_url} ({reason}) after {attempt} attempts. "
                "Check that the runner can reach it (on GitHub Enterprise Server: GITHUB_API_URL), then re-run "
                "the job."))
        assert isinstance(error, GithubException)
        if error.status in (403, 429):
            return self._rate_limit_pause(action, error, waited)
        if error.status >= 500:
            answer = status_text(error.status)
            return self._backoff(attempt, f"{action}: GitHub answered {answer}", (
                f"{action}: GitHub kept failing ({answer}) after {attempt} attempts over {waited:.0f} s. The "
                "problem is on GitHub's side (see https://www.githubstatus.com); re-run the job."))
        return None

    def _backoff(self, attempt: int, what: str, gave_up: str) -> Pause:
        seconds = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)) * (0.5 + 0.5 * self._jitter())
        return Pause(seconds, f"{what}; retrying in {seconds:.1f} s (attempt {attempt + 1} of {ATTEMPTS})",
                     gave_up)

    def _rate_limit_pause(self, action: str, error: GithubException, waited: float) -> Pause | None:
        """The wait GitHub asks for (``retry-after`` first, then the primary limit's reset), as GitHub documents."""
        headers = {name.lower(): value for name, value in (error.headers or {}).items()}
        message = str(error.data.get("message", "")) if isinstance(error.data, dict) else str(error.data or "")
        gave_up = (f"{action}: GitHub kept rate-limiting the requests after waiting {waited:.0f} s in all; "
                   "re-run the job in a few minutes.")
        if "retry-after" in headers:
            return self._secondary_pause(action, headers["retry-after"], gave_up)
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return self._primary_pause(action, headers["x-ratelimit-reset"])
        if error.status == 429 or re.search(r"secondary rate limit|abuse detection", message, re.IGNORECASE):
            return Pause(SECONDARY_WAIT, f"GitHub secondary rate limit: waiting {SECONDARY_WAIT:.0f} s "
                                         f"(GitHub asks for at least a minute), then {action} again", gave_up,
                         "secondary")
        return None

    def _secondary_pause(self, action: str, retry_after: str, gave_up: str) -> Pause:
        seconds = float(retry_after) if re.fullmatch(r"\d+(\.\d+)?", retry_after.strip()) else SECONDARY_WAIT
        if seconds > MAX_SECONDARY_WAIT:
            raise GitHubError(
                f"{action}: GitHub's secondary rate limit asks to wait {seconds:.0f} s (Retry-After), longer than "
                f"codeagent waits ({MAX_SECONDARY_WAIT:.0f} s). Too many requests came in a short time, often "
                "from other workflows using the same token; re-run the job later.")
        return Pause(seconds, f"GitHub secondary rate limit: waiting {seconds:.0f} s (Retry-After), then "
                              f"{action} again", gave_up, "secondary")

    def _primary_pause(self, action: str, reset_header: str) -> Pause:
        reset = float(reset_header)
        seconds = max(0.0, reset - self._clock()) + 1  # the reset is in whole seconds; clocks differ a little
        at = datetime.fromtimestamp(reset, timezone.utc).strftime("%H:%M:%S UTC")
        used_up = (f"{action}: the GitHub API rate limit of this token is used up until {at} "
                   f"(in {_duration(seconds)}). The token's hourly quota (1,000 requests per repository for "
                   "GITHUB_TOKEN) is shared by every workflow using it; re-run the job after the reset.")
        if seconds > MAX_RATE_LIMIT_WAIT:
            raise GitHubError(used_up)
        return Pause(seconds, f"GitHub rate limit: waiting {seconds:.0f} s (resets at {at}), then {action} again",
                     used_up, "primary")


def status_text(status: int) -> str:
    """``502 Bad Gateway``; the bare number for a status HTTP does not name."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def network_reason(error: Exception) -> str:
    """``Connection refused``, ``timed out``…: the cause at the bottom of requests' long message."""
    if isinstance(error, requests.exceptions.Timeout) and not isinstance(error, requests.exceptions.ConnectTimeout):
        return "timed out waiting for the answer"
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
    if found:
        return found.group(1).strip()
    return "timed out connecting" if isinstance(error, requests.exceptions.Timeout) else type(error).__name__


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
