"""The retry policy on its own: backoff with jitter, bounds, and failures GitHub's answers cannot show.

Everything GitHub answers is tested over HTTP in test_github_client.py; these are the cases the
emulator cannot produce quickly (a read timeout, the extremes of the jitter)."""

from __future__ import annotations

import pytest
import requests
from github import GithubException

from codeagent.errors import GitHubError
from codeagent.github_retry import ATTEMPTS, Retrying

API = "https://api.github.com"


def failing(*errors: Exception):
    """A call that raises ``errors`` in turn, then answers "done"."""
    pending = list(errors)

    def send() -> str:
        if pending:
            raise pending.pop(0)
        return "done"

    return send


@pytest.mark.parametrize("jitter, expected", [(0.0, [0.5, 1.0, 2.0]), (1.0, [1.0, 2.0, 4.0])])
def test_backoff_doubles_and_jitter_keeps_at_least_half(jitter, expected):
    slept: list[float] = []
    retrying = Retrying(API, sleep=slept.append, jitter=lambda: jitter)

    assert retrying.call("reading the issue", failing(*[GithubException(503, {}, {})] * 3)) == "done"
    assert slept == expected


def test_a_read_timeout_is_retried_and_then_explained():
    slept: list[float] = []
    timeouts = [requests.exceptions.ReadTimeout("HTTPSConnectionPool: Read timed out. (read timeout=30)")] * ATTEMPTS
    retrying = Retrying(API, sleep=slept.append)

    with pytest.raises(GitHubError) as caught:
        retrying.call("reading the issue", failing(*timeouts))

    assert str(caught.value).startswith(f"reading the issue: could not reach the GitHub API at {API} "
                                        "(timed out waiting for the answer) after 4 attempts.")
    assert len(slept) == ATTEMPTS - 1


def test_what_retrying_cannot_fix_is_left_to_the_caller_untouched():
    refused = GithubException(422, {"message": "Validation Failed"}, {})
    slept: list[float] = []

    with pytest.raises(GithubException) as caught:
        Retrying(API, sleep=slept.append).call("opening the pull request", failing(refused))

    assert caught.value is refused and slept == []


def test_a_retry_after_github_does_not_write_as_seconds_waits_a_minute():
    slept: list[float] = []
    limited = GithubException(403, {"message": "slow down"}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    assert Retrying(API, sleep=slept.append).call("reading the issue", failing(limited)) == "done"
    assert slept == [60]


def test_find_done_answers_for_a_retried_write_instead_of_sending_it_again():
    sent: list[str] = []

    def send() -> str:
        sent.append("POST")
        raise GithubException(502, {}, {})

    result = Retrying(API, sleep=lambda s: None).call("commenting on the issue", send, lambda: "the comment")

    assert result == "the comment" and sent == ["POST"]
