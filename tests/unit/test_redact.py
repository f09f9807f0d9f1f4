"""What `Redactor` hides from everything the action posts: the secrets it holds and credential shapes.

claude-code-action's redaction cases run here too, check by check; the checks ours fails on
purpose are listed in DELIBERATE_DIFFERENCES with the reason and what ours does instead.
"""

import base64

import pytest

from codeagent.prompt import sanitize
from codeagent.redact import REDACTED, Redactor
from tests.unit.peer_cases import REDACTION_FNS, Difference, assert_as_the_peer, expectations, gives, unmatched

SECRET = "s3cr3t-api-value"

ANY_LENGTH = ("Ours takes 36 to 255 characters after a GitHub token's prefix, not exactly 36, so a longer token is "
              "caught too: on the way out, one token-shaped string too many redacted is the safe side.")
MORE_SHAPES = "Ours also knows OpenAI's key shapes (sk-proj-, sk-svcacct-, sk-admin-, legacy sk-)."

DELIBERATE_DIFFERENCES = [
    Difference("should not redact partial matches or invalid tokens",
               gives("This is not a token: ghp_short or gho_toolong1234567890123456789012345678901234567890"),
               gives("This is not a token: ghp_short or [REDACTED_GITHUB_TOKEN]"), ANY_LENGTH),
    Difference("should not redact sk- strings that are not sk-ant-",
               gives("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 and sk-ant-short"),
               gives("[REDACTED_OPENAI_KEY] and sk-ant-short"), MORE_SHAPES),
]
"""The peer's checks ours fails on purpose: the peer's test and check, ours instead, and why."""


def peer_function(fn: str):
    """Ours in place of the peer's function `fn`: `Redactor()`, after `sanitize` where the peer sanitizes first."""
    if fn == "redactSecrets(sanitizeContent(x))":
        return lambda text: Redactor()(sanitize(text))
    return Redactor()


@pytest.mark.parametrize("expectation", expectations(REDACTION_FNS), ids=str)
def test_ours_redacts_what_the_peer_redacts(expectation):
    output = peer_function(expectation.fn)(expectation.input)
    assert_as_the_peer(expectation, output, DELIBERATE_DIFFERENCES)


def test_every_deliberate_difference_names_a_check_of_the_peer():
    assert unmatched(DELIBERATE_DIFFERENCES, REDACTION_FNS) == []


def test_the_secrets_held_are_redacted_also_base64_encoded():
    basic_auth = base64.b64encode(f"x-access-token:{SECRET}".encode()).decode()
    plain = base64.b64encode(SECRET.encode()).decode().rstrip("=")
    text = f"key {SECRET}\nAuthorization: Basic {basic_auth}\nencoded {plain}=="
    assert Redactor([SECRET])(text) == f"key {REDACTED}\nAuthorization: Basic {REDACTED}\nencoded {REDACTED}=="


def test_a_secret_that_holds_another_is_redacted_whole():
    assert Redactor(["abcdefgh", "abcdefgh-and-more"])("x abcdefgh-and-more y") == f"x {REDACTED} y"


def test_short_secrets_are_left_alone_as_they_would_redact_ordinary_words():
    assert Redactor(["main"])("pushed to main") == "pushed to main"


def test_with_secrets_keeps_the_secrets_already_known():
    redact = Redactor([SECRET]).with_secrets(["another-secret-value"])
    assert redact(f"{SECRET} another-secret-value") == f"{REDACTED} {REDACTED}"
