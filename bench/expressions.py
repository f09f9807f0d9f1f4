"""GitHub Actions expressions, evaluated as the runner does: the subset a workflow's `if:` and
`concurrency:` use, so that tests can run the example workflow's own conditions over events.

Literals (`null`, booleans, numbers, `'strings'` with `''` for a quote), property access
(`github.event.comment.body`, `a['b']`, `a[0]`), `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`,
parentheses, and the functions `contains`, `startsWith`, `endsWith`, `format`, `join`, `toJSON`,
`fromJSON`, `success`, `always`. The rules are GitHub's
(https://docs.github.com/en/actions/reference/workflows-and-actions/expressions):
string comparisons ignore case; `==` between different types compares them as numbers (null 0,
booleans 1 and 0, strings parsed as JSON numbers after trimming, "" 0, anything else NaN); `&&`
and `||` return one of their operands; falsy are `false`, `0`, `-0`, `""`, `null` and NaN; a
property of something that has none is null. A function name or a property name ignores case.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\],.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
)""", re.VERBOSE)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """The expression is not valid, or calls what this evaluator does not know."""


def evaluate(expression: str, contexts: dict[str, Any]) -> Any:
    """The value of ``expression`` (without `${{ }}`) over ``contexts`` (`github`, `inputs`, ...)."""
    parser = _Parser(_tokens(expression), contexts)
    value = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} in {expression!r}")
    return value


def evaluate_if(condition: str, contexts: dict[str, Any]) -> bool:
    """A `jobs.<id>.if:` as the runner decides it: with or without `${{ }}`, then truthy or not."""
    text = condition.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return truthy(evaluate(text, contexts))


def render(template: str, contexts: dict[str, Any]) -> str:
    """A string with `${{ }}` parts, each replaced by its value as a string (a concurrency group)."""
    return _TEMPLATE.sub(lambda match: to_string(evaluate(match[1], contexts)), template)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value is not None and value is not False and value != 0 and value != ""


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, str):
        return value
    return "Array" if isinstance(value, list) else "Object"


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        if re.fullmatch(r"-?0x[0-9a-fA-F]+", text):
            return float(int(text, 16))
        try:
            number = json.loads(text)
        except ValueError:
            return math.nan
        return float(number) if isinstance(number, (int, float)) and not isinstance(number, bool) else math.nan
    return math.nan


def fold(text: str) -> str:
    """Case folded as .NET's ordinal ignore-case does: each character upper-cased on its own."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return fold(left) == fold(right)
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    if type(left) is type(right) or (left is None and right is None):
        return left == right
    return to_number(left) == to_number(right)  # NaN equals nothing


def _compare(left: Any, right: Any, test: Callable[[Any, Any], bool]) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return test(fold(left), fold(right))
    a, b = to_number(left), to_number(right)
    return not (math.isnan(a) or math.isnan(b)) and test(a, b)


def _format(template: Any, *args: Any) -> str:
    def part(match: re.Match) -> str:
        if match[0] in ("{{", "}}"):
            return match[0][0]
        index = int(match[1])
        if index >= len(args):
            raise ExpressionError(f"format: no argument {index} for {template!r}")
        return to_string(args[index])
    return re.sub(r"\{\{|\}\}|\{(\d+)\}", part, to_string(template))


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(equal(element, item) for element in search)
    return fold(to_string(item)) in fold(to_string(search))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda text, prefix: fold(to_string(text)).startswith(fold(to_string(prefix))),
    "endswith": lambda text, suffix: fold(to_string(text)).endswith(fold(to_string(suffix))),
    "format": _format,
    "join": lambda items, separator=",": to_string(separator).join(to_string(i) for i in items)
    if isinstance(items, list) else to_string(items),
    "tojson": lambda value: json.dumps(value, indent=2),
    "fromjson": lambda text: json.loads(to_string(text)),
    "success": lambda: True,
    "always": lambda: True,
}

_BINARY: dict[str, tuple[int, Callable[[Any, Any], Any]]] = {
    "==": (3, lambda a, b: equal(a, b)), "!=": (3, lambda a, b: not equal(a, b)),
    "<": (4, lambda a, b: _compare(a, b, lambda x, y: x < y)), "<=": (4, lambda a, b: _compare(a, b, lambda x, y: x <= y)),
    ">": (4, lambda a, b: _compare(a, b, lambda x, y: x > y)), ">=": (4, lambda a, b: _compare(a, b, lambda x, y: x >= y)),
}
"""Comparison operators and their precedence (above `&&`, 2, and `||`, 1)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if not match:
            raise ExpressionError(f"cannot read {text[position:position + 20]!r} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


class _Parser:
    """Precedence climbing over the tokens; `&&` and `||` evaluate their right side only when needed."""

    def __init__(self, tokens: list[tuple[str, str]], contexts: dict[str, Any]) -> None:
        self.tokens, self.position, self.contexts = tokens, 0, contexts

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            raise ExpressionError(f"expected {expected or 'more'}, found {token[1] if token else 'the end'}")
        self.position += 1
        return token

    def expression(self, weakest: int = 1) -> Any:
        value = self.unary()
        while (token := self.peek()) is not None:
            op = token[1] if token[0] == "op" else ""
            level = 1 if op == "||" else 2 if op == "&&" else _BINARY[op][0] if op in _BINARY else 0
            if level < weakest or level == 0:
                return value
            self.take()
            right = self.expression(level + 1)
            if op == "||":
                value = value if truthy(value) else right
            elif op == "&&":
                value = right if truthy(value) else value
            else:
                value = _BINARY[op][1](value, right)
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.expression()
            self.take(")")
            return value
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(int(text, 16)) if "x" in text.lower() else float(text)
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        literal = {"null": None, "true": True, "false": False}
        if text in literal:
            return literal[text]
        if self.peek() == ("op", "("):
            return self.call(text)
        return _property(self.contexts, text)

    def call(self, name: str) -> Any:
        function = FUNCTIONS.get(name.lower())
        if function is None:
            raise ExpressionError(f"unknown function {name}()")
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.expression())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        return function(*args)

    def postfix(self, value: Any) -> Any:
        while (token := self.peek()) in (("op", "."), ("op", "[")):
            self.take()
            if token == ("op", "."):
                value = _property(value, self.take()[1])
            else:
                key = self.expression()
                self.take("]")
                value = _property(value, key)
        return value


def _property(value: Any, key: Any) -> Any:
    """``value[key]``: null when there is no such property (names ignore case) or index."""
    if isinstance(value, list):
        index = to_number(key)
        return value[int(index)] if not math.isnan(index) and index.is_integer() and 0 <= index < len(value) else None
    if not isinstance(value, dict):
        return None
    name = to_string(key)
    if name in value:
        return value[name]
    return next((item for k, item in value.items() if fold(k) == fold(name)), None)
