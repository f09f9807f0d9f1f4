"""The expression evaluator against GitHub's documented rules and examples
(https://docs.github.com/en/actions/reference/workflows-and-actions/expressions)."""

from __future__ import annotations

import pytest

from bench.expressions import ExpressionError, evaluate, evaluate_if, render

CONTEXTS = {
    "github": {"event_name": "issue_comment", "repository": "octo-org/textstats",
               "event": {"issue": {"number": 7}, "comment": {"body": "/code Fix it", "user": {"type": "User"}}}},
    "inputs": {"issue-number": "7"},
}


@pytest.mark.parametrize("expression, value", [
    ("null", None), ("true", True), ("false", False), ("711", 711), ("-9.2", -9.2), ("0xff", 255),
    ("-2.99e-2", -0.0299), ("'Mona the Octocat'", "Mona the Octocat"), ("'It''s open source!'", "It's open source!"),
])
def test_literals(expression, value):
    assert evaluate(expression, {}) == value


@pytest.mark.parametrize("expression, value", [
    # Strings compare ignoring case; different types compare as numbers.
    ("'abc' == 'ABC'", True), ("'abc' != 'abd'", True), ("1 == 1.0", True), ("null == 0", True),
    ("'' == 0", True), ("' 2 ' == 2", True), ("'0x10' == 16", True), ("'1e3' == 1000", True),
    ("true == 1", True), ("false == 0", True), ("'true' == true", False), ("'abc' == 0", False),
    ("null == ''", True), ("null == 'abc'", False), ("null == null", True), ("fromJSON('[]') == fromJSON('[]')", False),
    ("'a' < 'B'", True), ("2 >= 2", True), ("'x' < 1", False), ("'x' >= 1", False),
])
def test_comparisons(expression, value):
    assert evaluate(expression, {}) is value


@pytest.mark.parametrize("expression, value", [
    # && and || give one of their operands; falsy: false, 0, -0, "", null, NaN.
    ("null || 'fallback'", "fallback"), ("'' || 0", 0), ("'a' && 'b'", "b"), ("0 && 'b'", 0),
    ("!''", True), ("!'x'", False), ("!0", True), ("!-0", True), ("!fromJSON('[]')", False), ("!null", True),
    ("true || x.y", True), ("false && x.y", False),
    # && binds tighter than ||; ! tighter than ==.
    ("true || false && false", True), ("(true || false) && false", False), ("!false == true", True),
])
def test_logic(expression, value):
    assert evaluate(expression, {}) == value


@pytest.mark.parametrize("expression, value", [
    ("contains('Hello world', 'LLO')", True), ("contains(fromJSON('[\"push\", \"pull_request\"]'), 'PUSH')", True),
    ("contains(fromJSON('[\"push\"]'), 'pus')", False), ("contains(null, '')", True),
    ("startsWith('Hello world', 'he')", True), ("startsWith(null, 'he')", False), ("endsWith('Hello world', 'LD')", True),
    ("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"),
    ("format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", "{Hello Mona the Octocat!}"),
    ("format('{0} ', null)", " "), ("format('#{0}', 7)", "#7"), ("format('{0}', true)", "true"),
    ("join(fromJSON('[\"a\", \"b\"]'), ', ')", "a, b"), ("join('abc')", "abc"),
    ("fromJSON('\"/code\\t\"')", "/code\t"), ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
    ("toJSON('x')", '"x"'), ("STARTSWITH('ab', 'A')", True),
])
def test_functions(expression, value):
    assert evaluate(expression, {}) == value


@pytest.mark.parametrize("expression, value", [
    ("github.event.issue.number", 7), ("github['event']['issue']['number']", 7), ("github.EVENT.Issue.NUMBER", 7),
    ("github.event.pull_request.number", None), ("github.event.issue.number.deeper", None),
    ("inputs.issue-number", "7"), ("github.event.comment.body || github.event.review.body", "/code Fix it"),
    ("fromJSON('[1, 2]')[5]", None), ("github.event_name == 'ISSUE_COMMENT'", True),
])
def test_properties(expression, value):
    assert evaluate(expression, CONTEXTS) == value


def test_an_if_may_be_written_with_or_without_the_braces():
    assert evaluate_if("${{ github.event.issue.number == 7 }}", CONTEXTS)
    assert evaluate_if("github.event.issue.number == 7", CONTEXTS)
    assert not evaluate_if("github.event.missing", CONTEXTS)


def test_a_template_is_each_expression_as_text():
    assert render("codeagent-${{ github.event.issue.number || inputs.issue-number }}", CONTEXTS) == "codeagent-7"
    assert render("x-${{ github.event.pull_request.number }}-${{ true }}", CONTEXTS) == "x--true"


@pytest.mark.parametrize("expression", ["hashFiles('x')", "1 +", "'open", "a.(b)", "(true", "github.event["])
def test_what_it_cannot_read_is_an_error_not_a_guess(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, CONTEXTS)
