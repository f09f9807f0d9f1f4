"""Text from the internet, made safe to show the model: what GitHub hides from a reader is removed.

Everything in a thread is written by people on the internet, so `sanitize` strips what
GitHub renders invisibly (HTML comments, invisible and bidi characters, alt texts and link
titles) before the model can read what no human reviewer saw.
"""

import re
import unicodedata

MAX_TEXT_CHARS = 20_000
"""Longest title, body, comment or instructions text kept; the rest is cut with a note."""

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HIDDEN_ATTRIBUTE = re.compile(
    r"""\s(?:alt|title|aria-[\w-]+|data-[\w-]+|placeholder)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_IMAGE_ALT = re.compile(r"!\[[^\]]*\]\(")
_LINK_TITLE = re.compile(r"(\]\(\s*<?[^\s()<>]+>?)\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\))\s*\)")
_REFERENCE_TITLE = re.compile(r"^(\s*\[[^\]]+\]:\s*\S+)\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\))\s*$", re.MULTILINE)
_NUMERIC_ENTITY = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|(\d+));")
_KEPT_CONTROLS = "\n\t"
_INVISIBLE_LETTERS = "\u034f\u115f\u1160\u3164\uffa0"
_INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs")


def sanitize(text: str | bytes, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` without what GitHub hides from a human reader, cut to `limit` characters.

    Removes HTML comments, invisible and bidi-control characters, HTML `alt`/`title`/
    `aria-*`/`data-*` attributes, image alt texts and link titles. `<details>` stays:
    a reader can open it. Invalid UTF-8 becomes U+FFFD; lone surrogates are dropped.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n")
    text = _HTML_COMMENT.sub("", text)
    text = _NUMERIC_ENTITY.sub(_drop_invisible_entity, text)
    text = "".join(char for char in text if _visible(char))
    text = _HTML_TAG.sub(lambda tag: _HIDDEN_ATTRIBUTE.sub("", tag[0]), text)
    text = _IMAGE_ALT.sub("![](", text)
    text = _LINK_TITLE.sub(r"\1)", text)
    text = _REFERENCE_TITLE.sub(r"\1", text)
    return truncate(text.strip(), limit)


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, saying so at the end."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n\n[… truncated: the text has {len(text):,} characters; the first {limit:,} are shown]"


def _visible(char: str) -> bool:
    """False for characters a reader cannot see: format, control and variation-selector ones."""
    if char in _KEPT_CONTROLS:
        return True
    if char in _INVISIBLE_LETTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return False
    return not ("\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef")


def _drop_invisible_entity(match: re.Match) -> str:
    """Remove `&#8203;`-style entities of invisible characters; keep the rest as written."""
    code = int(match[1], 16) if match[1] else int(match[2])
    if code > 0x10FFFF:
        return ""
    return match[0] if _visible(chr(code)) else ""
