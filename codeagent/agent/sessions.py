"""Agent CLI sessions kept between runs, so a follow-up continues the conversation.

Each CLI keeps a session as a file or two under its HOME (`SessionLayout`): Claude Code as
``.claude/projects/<cwd slug>/<session id>.jsonl``, Codex as a rollout file under
``.codex/sessions/``, Gemini CLI as a chat file under ``.gemini/tmp/<project>/chats/``, and
each resumes it when the file is back (`--resume <id>`, `exec resume <id>`). The sandbox's HOME
is a fresh directory each run, so after a run the files are packed into a git note on the
branch's commit (``refs/notes/codeagent/<branch>``, pushed to origin), and the next run on that
branch unpacks them before the agent starts.

Why a git note: it travels with the repository and the workflow token can push it
(``contents: write``), it is never part of the branch's tree, so it never reaches
the pull request's diff or the default branch, and it needs no artifact or cache
service. The agent holds no secret (the gateway has the key), so there is none to blank;
the action still passes the note through its redaction before it pushes it.

The agent owned its HOME: every path read there is checked step by step, never following a
symbolic link, or the action (root) could be made to publish a file of its own.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

NOTES_REF = "refs/notes/codeagent/"
"""Prefix of the notes ref; the branch name follows."""
MAX_SESSION_BYTES = 8 * 1024 * 1024
"""Larger sessions are not kept (a note is a git blob; keep the repository small)."""
NOT_FOUND = "No conversation found"
"""What Claude Code says when ``--resume`` names a session it does not have."""
_SESSION_ID = re.compile(r"[0-9a-fA-F-]{8,64}")
_NAME = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
"""One path step a glob's ``*`` stands for when a note is unpacked (never ``.`` or ``..``)."""


@dataclass(frozen=True)
class SessionLayout:
    """Where one CLI keeps a session under its HOME: a glob relative to HOME.

    ``{id}`` is the session id, ``{id8}`` its first 8 characters and ``{project}`` the
    working directory's slug (`project_slug`); ``*`` is one path step or part of one.
    """

    agent: str
    glob: str

    def pattern(self, session_id: str, workdir: str) -> str:
        return self.glob.format(id=session_id, id8=session_id[:8], project=project_slug(workdir))

    def accepts(self, relative: str, session_id: str) -> bool:
        """Whether a path of a note is one this CLI could have written for ``session_id``."""
        literal = [re.escape(part) for part in self.glob.split("*")]
        regex = f"(?:{_NAME})?".join(literal).replace(re.escape("{project}"), _NAME)
        regex = regex.replace(re.escape("{id}"), re.escape(session_id)).replace(
            re.escape("{id8}"), re.escape(session_id[:8]))
        steps = relative.split("/")
        return bool(re.fullmatch(regex, relative)) and not any(step in ("", ".", "..") for step in steps)


CLAUDE = SessionLayout("claude", ".claude/projects/{project}/{id}.jsonl")


def notes_ref(branch: str) -> str:
    """The notes ref that keeps the sessions of ``branch``."""
    return NOTES_REF + branch


def project_slug(workdir: str) -> str:
    """The directory name Claude Code keeps a working directory's sessions under."""
    return re.sub(r"[^A-Za-z0-9]", "-", workdir)


def pack(layout: SessionLayout, home: Path, workdir: str, session_id: str) -> str | None:
    """The note text for session ``session_id`` of ``workdir`` under ``home``; None when it cannot be kept."""
    if not _SESSION_ID.fullmatch(session_id or ""):
        return None
    files: dict[str, str] = {}
    size = 0
    for path in sorted(home.glob(layout.pattern(session_id, workdir))):
        data = _read_regular(home, path.relative_to(home), MAX_SESSION_BYTES + 1 - size)
        if data is None:
            return None
        size += len(data)
        if size > MAX_SESSION_BYTES:
            return None
        files[path.relative_to(home).as_posix()] = data.decode("utf-8", errors="replace")
    if not files:
        return None
    return json.dumps({"version": 2, "agent": layout.agent, "session_id": session_id, "files": files})


def unpack(layout: SessionLayout, home: Path, note: str | None) -> str | None:
    """Put the session of ``note`` where its CLI looks for it under ``home``; its id, or None.

    A note of another CLI (the workflow's `agent` changed) or of a shape this one could not have
    written is ignored: the run starts afresh.
    """
    saved = _read_note(note)
    if saved is None or saved.get("agent") != layout.agent:
        return None
    session_id, files = str(saved.get("session_id")), saved.get("files")
    if not _SESSION_ID.fullmatch(session_id) or not isinstance(files, dict) or not files:
        return None
    if not all(isinstance(text, str) and layout.accepts(str(relative), session_id)
               for relative, text in files.items()):
        return None
    for relative, text in files.items():
        _write_under(home, str(relative), text)
    return session_id


def pack_session(home: Path, workdir: str, session_id: str) -> str | None:
    """Claude Code's session ``session_id`` of ``workdir`` packed into a note (see `pack`)."""
    return pack(CLAUDE, home, workdir, session_id)


def unpack_session(home: Path, note: str | None) -> str | None:
    """Claude Code's session of ``note`` put back under ``home`` (see `unpack`)."""
    return unpack(CLAUDE, home, note)


def could_not_resume(error: str) -> bool:
    """Whether a Claude Code run failed only because its session was not found."""
    return NOT_FOUND in error


def _read_note(note: str | None) -> dict | None:
    """A note as the current shape; the first one (Claude Code's only, version 1) converted."""
    try:
        saved = json.loads(note or "")
    except ValueError:
        return None
    if not isinstance(saved, dict):
        return None
    if saved.get("version", 1) == 1 and {"session_id", "project", "transcript"} <= saved.keys():
        path = f".claude/projects/{saved['project']}/{saved['session_id']}.jsonl"
        return {"agent": "claude", "session_id": saved["session_id"], "files": {path: saved["transcript"]}}
    return saved


def _read_regular(home: Path, relative: Path, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of a regular file under ``home``, or None when a step is a link or not there."""
    step = home
    for part in relative.parts[:-1]:
        step = step / part
        if step.is_symlink() or not step.is_dir():
            return None
    try:
        descriptor = os.open(home / relative, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as session:
        if not stat.S_ISREG(os.fstat(session.fileno()).st_mode):
            return None
        return session.read(limit)


def _write_under(home: Path, relative: str, text: str) -> None:
    """Write ``text`` to ``home/relative``, replacing any link on the way rather than following it."""
    home.mkdir(parents=True, exist_ok=True)
    step = home
    for part in relative.split("/")[:-1]:
        step = step / part
        if step.is_symlink() or (step.exists() and not step.is_dir()):
            step.unlink()
        step.mkdir(exist_ok=True)
    target = home / relative
    if target.is_symlink():
        target.unlink()
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
