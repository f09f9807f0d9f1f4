"""What the issue and pull request prompts share: the thread's types, the rules, the template
filling, the size budget (one command-line argument), and the escaping of our own tags."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from codeagent.prompt.sanitize import sanitize

MAX_PROMPT_BYTES = 120_000
"""Longest prompt in UTF-8 bytes: it is one command-line argument, and Linux caps those at 128 KiB."""


@dataclass(frozen=True)
class ThreadComment:
    """One comment of the issue thread."""

    author: str
    body: str
    is_bot: bool = False


@dataclass(frozen=True)
class IssueThread:
    """An issue and the comments that came before the trigger comment, oldest first."""

    number: int
    title: str
    body: str
    author: str
    comments: tuple[ThreadComment, ...] = ()


RULES = """\
## How to work

- Work in the current directory: it is the repository's checkout. Change only files in it.
- Do not commit, push, or create or switch branches: the action commits your changes \
and opens the pull request.
- Do not change files under `.github/workflows/`: they cannot be pushed from here.
- If the project has tests, run them and make them pass; add tests for new behaviour \
the way the project does.
- Keep the change focused on the issue.
- End with a short summary of what you changed and why, in a few sentences: it becomes \
the pull request's description."""

PLACEHOLDER_PATTERN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OUR_TAGS = re.compile(r"<(/?(?:issue_\w+|pull_request_\w+|diff_hunk|instructions)\b)", re.IGNORECASE)
_NOT_LOGIN = re.compile(r"[^A-Za-z0-9\-\[\]]")


def assemble(template: str, values: dict[str, str], comments: tuple[ThreadComment, ...]) -> str:
    """``template`` filled with ``values`` and as many of the newest ``comments`` as fit the size budget."""
    budget = MAX_PROMPT_BYTES - size(fill_template(template, {**values, "comments": ""}))
    return cut_to_bytes(fill_template(template, {**values, "comments": render_comments(comments, budget)}),
                        MAX_PROMPT_BYTES)


def clean(text: str, empty: str = "") -> str:
    """User text, sanitized and with our own tag names escaped."""
    return defuse(sanitize(text)) or empty


def render_comments(comments: tuple[ThreadComment, ...], budget: int) -> str:
    """The human comments as `<issue_comment>` tags; the oldest are left out beyond `budget` bytes."""
    rendered = [_render_comment(comment) for comment in comments if not _by_bot(comment)]
    kept: list[str] = []
    for text in reversed(rendered):
        if size(text) + 200 > budget:
            break
        kept.insert(0, text)
        budget -= size(text) + 1
    left_out = len(rendered) - len(kept)
    note = [f"[{left_out} earlier comment(s) left out: the thread is too long]"] if left_out else []
    return "\n".join(note + kept) or "(no comments)"


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` by `values[name]`, `{{` by `{` and `}}` by `}`; other braces stay."""

    def replace(match: re.Match) -> str:
        if match[1]:
            return values[match[1]]
        return match[0][0]

    return PLACEHOLDER_PATTERN.sub(replace, template)


def _render_comment(comment: ThreadComment) -> str:
    body = defuse(sanitize(comment.body)) or "(empty)"
    return f'<issue_comment author="{login(comment.author)}">\n{body}\n</issue_comment>'


def _by_bot(comment: ThreadComment) -> bool:
    """Bots' comments (the action's own progress and result comments) are not part of the task."""
    return comment.is_bot or comment.author.endswith("[bot]")


def defuse(text: str) -> str:
    """Escape our own tag names in user text, so it cannot close a tag and pose as our words."""
    return _OUR_TAGS.sub(r"&lt;\1", text)


def login(author: str) -> str:
    """A GitHub login keeps only the characters logins can have."""
    return _NOT_LOGIN.sub("", author)[:100] or "unknown"


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_to_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (a last resort; comments are dropped first)."""
    if size(text) <= limit:
        return text
    note = "\n\n[… the prompt was cut here: it is too long for the command line]"
    head = text.encode("utf-8")[: limit - size(note)].decode("utf-8", errors="ignore")
    return head + note
