"""Small text helpers shared by the messages the action writes."""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
MENTION = re.compile(r"(?<![A-Za-z0-9_])@(?=[A-Za-z0-9])")
"""An @mention, or what could be one: any `@` before a name but in an e-mail address or `pkg@1.2` (word
characters as GitHub's mention filter has them: ASCII, so `é@user` is a mention)."""
CLOSING = re.compile(r"(?<![A-Za-z0-9_])(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*:?\s*)"
                     r"((?:[\w.-]+/[\w.-]+)?#(?=\d)|GH-(?=\d)|https?:(?=//\S+/(?:issues|pull)/\d))", re.I)
"""A closing keyword and the reference it closes: `fixes #12`, `Closes: org/repo#3`, `fix GH-4`, or the
issue's URL."""
CHARACTER_REFERENCE = re.compile(r"&(?=#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;)")
"""An HTML character reference (`&#64;`, `&commat;`): Markdown renders it before GitHub looks for mentions."""


def first_line(text: str, limit: int) -> str:
    """The first non-empty line of ``text``, stripped, cut to ``limit`` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return cut(line, limit)


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with all its whitespace collapsed to single spaces, cut to ``limit`` characters."""
    return cut(" ".join(text.split()), limit)


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_at_word(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip() + "…"


def quote(text: str) -> str:
    """``text`` as a Markdown block quote."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def relative_to(path: str, workspace: str) -> str:
    """``path`` relative to ``workspace`` when it lies inside it."""
    root = workspace.rstrip("/")
    if root and path == root:
        return "."
    return path.removeprefix(root + "/") if root else path


def plural(count: int, noun: str) -> str:
    """"1 turn", "3 turns"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def printable(text: str) -> str:
    """``text`` that GitHub and the log accept: bytes that were not UTF-8 (kept by surrogateescape) shown
    as the replacement character."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def inert_references(text: str) -> str:
    """The agent's words made unable to act on GitHub: no @mention notifies anyone, and no closing
    keyword closes an issue when the pull request or commit is merged
    (https://docs.github.com/en/issues/tracking-your-work-with-issues/using-issues/linking-a-pull-request-to-an-issue).
    A zero-width space after the `@` or `#` keeps the text as it reads."""
    text = MENTION.sub("@" + ZERO_WIDTH_SPACE, CHARACTER_REFERENCE.sub("&amp;", text))
    return CLOSING.sub(lambda match: match.group(0) + ZERO_WIDTH_SPACE, text)
