"""Claude Code sessions kept between runs, so a follow-up continues the conversation.

Claude Code keeps a session as ``$HOME/.claude/projects/<cwd slug>/<session id>.jsonl``;
``--resume <id>`` continues it when that file is there. The sandbox's HOME is a
fresh directory each run, so after a run the file is packed into a git note on the
branch's commit (``refs/notes/codeagent/<branch>``, pushed to origin), and the next
run on that branch unpacks it before the agent starts.

Why a git note: it travels with the repository and the workflow token can push it
(``contents: write``), it is never part of the branch's tree, so it never reaches
the pull request's diff or the default branch, and it needs no artifact or cache
service. The agent holds no secret (the gateway has the key), so there is none to blank;
the action still passes the note through its redaction before it pushes it.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

NOTES_REF = "refs/notes/codeagent/"
"""Prefix of the notes ref; the branch name follows."""
MAX_SESSION_BYTES = 8 * 1024 * 1024
"""Larger sessions are not kept (a note is a git blob; keep the repository small)."""
NOT_FOUND = "No conversation found"
"""What Claude Code says when ``--resume`` names a session it does not have."""
_SESSION_ID = re.compile(r"[0-9a-fA-F-]{8,64}")


def notes_ref(branch: str) -> str:
    """The notes ref that keeps the sessions of ``branch``."""
    return NOTES_REF + branch


def project_slug(workdir: str) -> str:
    """The directory name Claude Code keeps a working directory's sessions under."""
    return re.sub(r"[^A-Za-z0-9]", "-", workdir)


def pack_session(home: Path, workdir: str, session_id: str) -> str | None:
    """The note text for session ``session_id`` of ``workdir`` under ``home``; None when it cannot be kept.

    The agent owned ``home``: every step of the path must be a real directory or file, never a
    symbolic link, or the action (root) could be made to publish a file of its own.
    """
    if not _SESSION_ID.fullmatch(session_id or ""):
        return None
    project = project_slug(workdir)
    steps = [home / ".claude", home / ".claude" / "projects", home / ".claude" / "projects" / project]
    path = steps[-1] / f"{session_id}.jsonl"
    if any(step.is_symlink() or not step.is_dir() for step in steps) or path.is_symlink() or not path.is_file():
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as session:
        if not stat.S_ISREG(os.fstat(session.fileno()).st_mode):
            return None
        data = session.read(MAX_SESSION_BYTES + 1)
    if len(data) > MAX_SESSION_BYTES:
        return None
    transcript = data.decode("utf-8", errors="replace")
    return json.dumps({"version": 1, "session_id": session_id, "project": project, "transcript": transcript})


def unpack_session(home: Path, note: str | None) -> str | None:
    """Put the session of ``note`` where Claude Code looks for it under ``home``; its id, or None."""
    try:
        saved = json.loads(note or "")
        session_id, project, transcript = saved["session_id"], saved["project"], saved["transcript"]
    except (ValueError, KeyError, TypeError):
        return None
    if not _SESSION_ID.fullmatch(str(session_id)) or "/" in str(project) or str(project) in ("", ".", ".."):
        return None
    directory = home / ".claude" / "projects" / project
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{session_id}.jsonl").write_text(transcript, encoding="utf-8")
    return session_id


def could_not_resume(error: str) -> bool:
    """Whether a run failed only because its session was not found."""
    return NOT_FOUND in error
