"""Small text helpers: the agent's words made inert before they reach GitHub."""

from __future__ import annotations

import pytest

from codeagent.text import inert_references

ZWSP = "\u200b"


@pytest.mark.parametrize("text, inert", [
    ("thanks @octocat and @org/team", f"thanks @{ZWSP}octocat and @{ZWSP}org/team"),
    ("Fixes #12, closes org/repo#3 and Resolves: #4", f"Fixes #{ZWSP}12, closes org/repo#{ZWSP}3 and Resolves: #{ZWSP}4"),
    ("fixed #7", f"fixed #{ZWSP}7"),
    ("Fixes https://github.com/o/r/issues/3", f"Fixes https:{ZWSP}//github.com/o/r/issues/3"),
    ("closes GH-12", f"closes GH-{ZWSP}12"),
    ("é@octocat 中@octocat éfixes #12 fixes:#13", f"é@{ZWSP}octocat 中@{ZWSP}octocat éfixes #{ZWSP}12 fixes:#{ZWSP}13"),
    ("thanks &#64;octo-owner &commat;octo-owner &#x40;x", "thanks &amp;#64;octo-owner &amp;commat;octo-owner &amp;#x40;x"),
    ("`@admin -@admin x+@admin (@admin) /@admin", f"`@{ZWSP}admin -@{ZWSP}admin x+@{ZWSP}admin (@{ZWSP}admin) /@{ZWSP}admin"),
])
def test_mentions_and_closing_keywords_do_nothing_on_github(text, inert):
    assert inert_references(text) == inert


@pytest.mark.parametrize("text", ["mail me at dev@example.com", "npm i pkg@1.2.3", "see #12 and issue #3",
                                  "prefix fixes", "the fix #no", "see https://github.com/o/r/issues/3"])
def test_what_is_no_mention_or_closing_reference_stays_as_it_is(text):
    assert inert_references(text) == text
