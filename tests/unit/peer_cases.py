"""claude-code-action's sanitizer and redaction test cases, as checks to run against ours.

tests/fixtures/sanitizer/claude-code-action-cases.json holds the peer's own cases: `exact`
ones (the output is `expected`) and `contains` ones (the output holds each of `contains`
and none of `not_contains`); `fn` names the peer's function. Each case becomes one
`Expectation` per thing it checks, so that one deliberate difference does not take the
other checks of its case with it. A `Difference` says where ours fails a check of the
peer's on purpose, why, and which check ours passes instead: nothing is skipped.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from tests.unit.golden import FIXTURES

CASES = json.loads((FIXTURES / "sanitizer" / "claude-code-action-cases.json").read_text(encoding="utf-8"))

HIDING_FNS = ("stripHtmlComments", "stripInvisibleCharacters", "stripMarkdownImageAltText",
              "stripMarkdownLinkTitles", "stripHiddenAttributes", "normalizeHtmlEntities", "sanitizeContent")
"""The peer's functions about hidden text: tests/unit/test_sanitize_peer_cases.py runs them."""
REDACTION_FNS = ("redactGitHubTokens", "redactSecrets", "redactSecrets(sanitizeContent(x))")
"""The peer's redaction: tests/unit/test_redact.py runs them."""


@dataclass(frozen=True)
class Check:
    """What an output must do with `text`: be it (`gives`), hold it (`keeps`) or not (`removes`)."""

    verb: str
    text: str

    def holds(self, output: str) -> bool:
        """Whether `output` passes this check."""
        if self.verb == "gives":
            return output == self.text
        return (self.text in output) == (self.verb == "keeps")

    def __str__(self) -> str:
        return f"{self.verb} {self.text!r}"


def gives(text: str) -> Check:
    return Check("gives", text)


def keeps(text: str) -> Check:
    return Check("keeps", text)


def removes(text: str) -> Check:
    return Check("removes", text)


@dataclass(frozen=True)
class Expectation:
    """One check of one of the peer's cases."""

    fn: str
    test: str
    input: str
    check: Check

    def __str__(self) -> str:
        return f"{self.fn}: {self.test}: {self.check}"


@dataclass(frozen=True)
class Difference:
    """Where ours fails the peer's check `peer` in its test `test` on purpose: why, and the check ours passes."""

    test: str
    peer: Check
    ours: Check
    reason: str


def expectations(fns: Iterable[str]) -> list[Expectation]:
    """Every check of the peer's cases whose `fn` is one of `fns`."""
    fns = set(fns)
    found = [Expectation(case["fn"], case["test"], case["input"], gives(case["expected"]))
             for case in CASES["exact"] if case["fn"] in fns]
    for case in (case for case in CASES["contains"] if case["fn"] in fns):
        checks = [*map(keeps, case["contains"]), *map(removes, case["not_contains"])]
        found += [Expectation(case["fn"], case["test"], case["input"], check) for check in checks]
    return found


def assert_as_the_peer(expectation: Expectation, output: str, differences: Iterable[Difference]) -> None:
    """`output` passes the peer's check, or, where `differences` lists it, fails it and passes ours."""
    difference = next((difference for difference in differences
                       if (difference.test, difference.peer) == (expectation.test, expectation.check)), None)
    if difference is None:
        assert expectation.check.holds(output), f"{expectation}; ours gives {output!r}"
        return
    # A listed difference that no longer differs is stale: the list must say what ours really does.
    assert not expectation.check.holds(output), f"listed as a deliberate difference, but ours agrees: {expectation}"
    assert difference.ours.holds(output), f"{difference.reason}\nours should pass `{difference.ours}`, gives {output!r}"


def unmatched(differences: Iterable[Difference], fns: Iterable[str]) -> list[Difference]:
    """The `differences` that name no check of the peer's cases of `fns`."""
    known = {(expectation.test, expectation.check) for expectation in expectations(fns)}
    return [difference for difference in differences if (difference.test, difference.peer) not in known]
