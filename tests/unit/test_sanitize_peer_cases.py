"""claude-code-action's sanitizer cases, run through our `sanitize`.

Every case of the peer's about hidden text runs here, check by check: what the peer
removes, ours removes; what it keeps, ours keeps; where it names the exact output, ours
gives it. The checks ours fails on purpose are listed in DELIBERATE_DIFFERENCES with the
reason and what ours does instead. Ours also keeps a zero-width joiner or non-joiner
between the letters of a script that joins by it and between emoji, where the peer strips
every one; no case of the peer's has such a joiner, so that difference lists no case.
"""

import pytest

from codeagent.prompt import sanitize
from tests.unit.peer_cases import (CASES, HIDING_FNS, REDACTION_FNS, Difference, assert_as_the_peer, expectations,
                                   gives, keeps, removes, unmatched)

LONE_CR = "A lone \\r is a line break in Markdown: ours writes it as \\n (removing it glued words); the peer keeps \\r."
ENTITIES = ("A numeric entity of a visible character is visible text: GitHub shows the character, or the entity "
            "itself inside code. Ours keeps it as written, so a report about escaping reaches the model as its author "
            "wrote it; the peer decodes ASCII ones and drops the others (&#233; loses its é). Entities of invisible "
            "characters go in both.")
OUTER_WHITESPACE = "Ours strips the whitespace around the whole text; the peer keeps it."
VISIBLE_TOKENS = ("The peer's sanitizeContent also redacts GitHub tokens from what the model reads. A token in the "
                  "visible text hides nothing, so ours keeps it there; everything the action posts or pushes is "
                  "redacted on the way out (codeagent/redact.py, tests/unit/test_redact.py).")


def entities(text: str) -> str:
    """`text` as decimal numeric entities, as the peer's inputs write it."""
    return "".join(f"&#{ord(char)};" for char in text)


def hex_entities(text: str) -> str:
    """`text` as hexadecimal numeric entities, as the peer's inputs write it."""
    return "".join(f"&#x{ord(char):X};" for char in text)


def peer_expected(test: str) -> str:
    """The output the peer's `exact` case `test` expects."""
    return next(case["expected"] for case in CASES["exact"] if case["test"] == test)


LEGITIMATE = "should preserve legitimate markdown and HTML (output must equal input)"
TOKEN_CASE = "should redact tokens as part of full sanitization"
FORMAT_BODY = "integration: formatBody(issueBody, new Map()) (== sanitizeContent when map is empty)"
FORMAT_COMMENT_2 = "integration: formatComments comment 2 (body part; prefix '[author1 at 2023-01-01T12:00:00Z]: ')"
TOKEN = "gho_16C7e42F292c6912E7710c838347Ae178B4a"

DELIBERATE_DIFFERENCES = [
    Difference("should preserve common whitespace", gives("Carriage\rReturn"), gives("Carriage\nReturn"), LONE_CR),
    Difference("should decode numeric entities", gives("Hello"), gives(entities("Hello")), ENTITIES),
    Difference("should decode numeric entities", gives("ABC"), gives(entities("ABC")), ENTITIES),
    Difference("should decode hex entities", gives("Hello"), gives(hex_entities("Hello")), ENTITIES),
    Difference("should decode hex entities", gives("ABC"), gives(hex_entities("ABC")), ENTITIES),
    Difference("should apply all sanitization measures", keeps("Hidden message"),
               keeps(entities("Hidden") + " message"), ENTITIES),
    Difference("should handle entity-encoded text", keeps("Hidden message"),
               keeps(entities("Hidden") + " " + entities("message")), ENTITIES),
    Difference(FORMAT_BODY, keeps("Hidden encoded content"), keeps(entities("Hidden") + " encoded content"),
               ENTITIES),
    Difference(FORMAT_BODY, removes("&#72;"), keeps("&#72;"), ENTITIES),
    Difference(FORMAT_COMMENT_2, keeps("Test note: All systems checked."),
               keeps(entities("Test") + " " + entities("note") + ": All systems checked."), ENTITIES),
    Difference(FORMAT_COMMENT_2, removes("&#84;"), keeps("&#84;"), ENTITIES),
    Difference(LEGITIMATE, gives(peer_expected(LEGITIMATE)), gives(peer_expected(LEGITIMATE).strip()),
               OUTER_WHITESPACE),
    Difference("sanitizeContent should only redact GitHub tokens from inbound content",
               gives("docs example key AKIAIOSFODNN7EXAMPLE and token [REDACTED_GITHUB_TOKEN]"),
               gives("docs example key AKIAIOSFODNN7EXAMPLE and token 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"),
               VISIBLE_TOKENS),
    # The case's other token is inside an HTML comment: that one ours removes.
    Difference(TOKEN_CASE, keeps("[REDACTED_GITHUB_TOKEN]"), keeps(f"with a token: {TOKEN}"), VISIBLE_TOKENS),
    Difference(TOKEN_CASE, removes(TOKEN), keeps(TOKEN), VISIBLE_TOKENS),
]
"""The peer's checks ours fails on purpose: the peer's test and check, ours instead, and why."""


@pytest.mark.parametrize("expectation", expectations(HIDING_FNS), ids=str)
def test_ours_removes_what_the_peer_removes_and_keeps_what_it_keeps(expectation):
    assert_as_the_peer(expectation, sanitize(expectation.input), DELIBERATE_DIFFERENCES)


def test_every_deliberate_difference_names_a_check_of_the_peer():
    assert unmatched(DELIBERATE_DIFFERENCES, HIDING_FNS) == []


def test_every_case_of_the_peer_runs_here_or_in_test_redact():
    fns = {case["fn"] for case in CASES["exact"] + CASES["contains"]}
    assert fns == {*HIDING_FNS, *REDACTION_FNS}
