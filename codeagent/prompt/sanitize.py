"""Text from the internet, made safe to show the model: what GitHub hides from a reader is removed.

Everything in a thread is written by people on the internet, so `sanitize` strips what
GitHub renders invisibly (HTML comments, invisible and bidi characters, alt texts and link
titles) before the model can read what no human reviewer saw. claude-code-action's
sanitizer covers the same channels; its test cases run against this module too
(tests/unit/test_sanitize_peer_cases.py).
"""

import re
import unicodedata

MAX_TEXT_CHARS = 20_000
"""Longest title, body, comment or instructions text kept; the rest is cut with a note."""

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_NUMERIC_ENTITY = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|(\d+));")
_LINE_BREAK = re.compile(r"\r\n?")
_KEPT_CONTROLS = "\n\t"
_INVISIBLE_LETTERS = "\u034f\u115f\u1160\u3164\uffa0"
_INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs")
_JOINERS = "\u200c\u200d"

# Where emoji live: Unicode's Extended_Pictographic, by block (the standard library has no emoji property).
_EMOJI = ("[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf"
          "\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]")
# Scripts whose letters change shape at a joiner: Arabic (Persian, Urdu…), Syriac, N'Ko and their
# neighbouring blocks, the Indic scripts from Devanagari to Sinhala, Mongolian, Arabic presentation forms.
_JOINING_SCRIPT = "[\u0600-\u08ff\u0900-\u0dff\u1800-\u18af\ufb50-\ufdff\ufe70-\ufefe]"
_SUBDIVISION_FLAGS = ("gbeng", "gbsct", "gbwls")
"""England, Scotland, Wales: the only tag sequences Unicode recommends (https://unicode.org/reports/tr51/)."""


def _flag(code: str) -> str:
    """A subdivision flag: a black flag, `code` spelled in tag characters, a cancel tag."""
    return "\U0001f3f4" + "".join(chr(0xE0000 + ord(letter)) for letter in code) + "\U000e007f"


# Sequences kept whole although they hold invisible characters; one group, for `re.split`.
_SHOWN_SEQUENCE = re.compile("(" + "|".join([
    *map(_flag, _SUBDIVISION_FLAGS),
    rf"{_EMOJI}[\ufe0e\ufe0f]?(?:\u200d{_EMOJI}[\ufe0e\ufe0f]?)*",
    "[#*0-9]\ufe0f\u20e3",
]) + ")")
_STRAY_JOINER = re.compile(rf"(?<!{_JOINING_SCRIPT})[{_JOINERS}]|[{_JOINERS}](?!{_JOINING_SCRIPT})")

# A tag ends at the first `>` outside a quoted attribute value (`<img src="a>b" alt="…">`).
# The loop is possessive, so a text full of unclosed tags is still read in linear time.
_HTML_TAG = re.compile(r"""<[A-Za-z](?:=\s*"[^"]*"|=\s*'[^']*'|[^<>])*+>""")
# One whole attribute, so that `alt=` inside another attribute's quoted value is not taken for one.
_ATTRIBUTE = re.compile(r"""[\s/]+([^\s"'<>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""")
_HIDDEN_ATTRIBUTE = re.compile(r"alt|title|placeholder|aria-\S*|data-\S*", re.IGNORECASE)
_BRACKET = re.compile(r"\\.|[\[\]]", re.DOTALL)
_LINK_TITLE = re.compile(r"(\]\(\s*<?[^\s()<>]+>?)\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\))\s*\)")
_REFERENCE_TITLE = re.compile(r"^(\s*\[[^\]]+\]:\s*\S+)\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\))\s*$", re.MULTILINE)


def sanitize(text: str | bytes, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` without what GitHub hides from a human reader, cut to `limit` characters.

    Removes HTML comments; HTML `alt`/`title`/`placeholder`/`aria-*`/`data-*` attributes
    (a `>` inside a quoted value does not end the tag); the alt texts of Markdown images,
    inline and by reference (`![alt][label]`), and link titles; and the characters a reader
    cannot see: format, control and bidi characters, invisible fillers, variation selectors
    and tags. Of those characters, what a reader sees the effect of stays:

    - a zero-width joiner or non-joiner between two letters of a script that shapes its
      letters by it (Persian `می‌خواهم`, Devanagari `क्‍ष`). Anywhere else (alone, at the
      start or end of a word, in a run, between Latin letters) it only hides, and goes;
    - a zero-width joiner between two emoji (`👩‍💻`), and one variation selector 15 or 16
      right after an emoji (`❤️`), which picks its text or emoji presentation. Anywhere
      else (after a letter, a second one) a selector at most changes a glyph's shape, and
      runs of them smuggle bytes ("variation-selector smuggling"), so it goes;
    - the tags of the England, Scotland and Wales flags. Any other tag character goes:
      tags spell hidden ASCII ("ASCII smuggling").

    Entities of invisible characters (`&#8203;`) are judged as those characters; other
    entities stay as written. `<details>` stays: a reader can open it. A lone `\\r` is a
    line break in Markdown, so it becomes `\\n`. Invalid UTF-8 becomes U+FFFD.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = _HTML_COMMENT.sub("", text)
    text = _NUMERIC_ENTITY.sub(_decode_invisible_entity, text)
    text = _LINE_BREAK.sub("\n", text)
    text = _strip_invisible(text)
    text = _HTML_TAG.sub(_without_hidden_attributes, text)
    text = _strip_image_alt_texts(text)
    text = _LINK_TITLE.sub(r"\1)", text)
    text = _REFERENCE_TITLE.sub(r"\1", text)
    return truncate(text.strip(), limit)


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, saying so at the end."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n\n[… truncated: the text has {len(text):,} characters; the first {limit:,} are shown]"


def _decode_invisible_entity(match: re.Match) -> str:
    """An entity of an invisible character as that character, for `_strip_invisible` to judge; others as written."""
    code = int(match[1], 16) if match[1] else int(match[2])
    if code > 0x10FFFF:
        return ""
    return match[0] if _visible(chr(code)) else chr(code)


def _strip_invisible(text: str) -> str:
    """`text` without the characters a reader cannot see, emoji and flag sequences kept whole."""
    parts = _SHOWN_SEQUENCE.split(text)
    # With one group, split() alternates: the text between sequences, then a sequence.
    return "".join(part if index % 2 else _visible_only(part) for index, part in enumerate(parts))


def _visible_only(text: str) -> str:
    """`text` (no emoji in it) without invisible characters, but with the joiners that shape its letters."""
    text = "".join(char for char in text if char in _JOINERS or _visible(char))
    return _STRAY_JOINER.sub("", text)


def _visible(char: str) -> bool:
    """False for characters a reader cannot see: format, control and variation-selector ones."""
    if char in _KEPT_CONTROLS:
        return True
    if char in _INVISIBLE_LETTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return False
    return not ("\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef")


def _without_hidden_attributes(tag: re.Match) -> str:
    """The HTML `tag` without the attributes whose values a reader never sees."""
    return _ATTRIBUTE.sub(lambda attribute: "" if _HIDDEN_ATTRIBUTE.fullmatch(attribute[1]) else attribute[0],
                          tag[0])


def _strip_image_alt_texts(text: str) -> str:
    """`text` with `![alt](url)` and `![alt][label]` images as `![](url)`, `![][label]`.

    The alt text may hold brackets nested to any depth, so the closing `]` is found by
    counting them, not by a regular expression.
    """
    closing = _closing_brackets(text)
    kept, start = [], 0
    for opening in (match.start() + 1 for match in re.finditer(r"!\[", text)):
        end = closing.get(opening)
        # An image inside an alt text already removed (`opening < start`) goes with it.
        if end is not None and opening > start and text[end + 1:end + 2] in ("(", "["):
            kept.append(text[start:opening + 1])
            start = end
    return "".join(kept) + text[start:]


def _closing_brackets(text: str) -> dict[int, int]:
    """Where each `[` in `text` is closed: its index mapped to that of its `]`; escaped ones are text."""
    closing, open_brackets = {}, []
    for bracket in _BRACKET.finditer(text):
        if bracket[0] == "[":
            open_brackets.append(bracket.start())
        elif bracket[0] == "]" and open_brackets:
            closing[open_brackets.pop()] = bracket.start()
    return closing
