"""Agent CLI sessions packed into a note and unpacked for the next run (Claude Code's first)."""

import json
from pathlib import Path

import pytest

from codeagent.agent.codex import SESSIONS as CODEX
from codeagent.agent.gemini import SESSIONS as GEMINI
from codeagent.agent.sessions import (
    CLAUDE, MAX_SESSION_BYTES, could_not_resume, notes_ref, pack, pack_session, project_slug, unpack, unpack_session,
)

SESSION = "8fead0b4-a1f2-4fdd-b120-48f51aab9808"


def write_session(home, text: str, project: str = "-github-workspace"):
    path = home / ".claude" / "projects" / project / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_a_session_round_trips(tmp_path):
    write_session(tmp_path / "a", '{"type":"user","text":"word_count"}\n')

    note = pack_session(tmp_path / "a", "/github/workspace", SESSION)

    assert unpack_session(tmp_path / "b", note) == SESSION
    restored = tmp_path / "b" / ".claude" / "projects" / "-github-workspace" / f"{SESSION}.jsonl"
    assert restored.read_text() == '{"type":"user","text":"word_count"}\n'


def test_nothing_is_kept_without_a_session_file_or_when_it_is_too_big(tmp_path):
    assert pack_session(tmp_path, "/github/workspace", SESSION) is None
    assert pack_session(tmp_path, "/github/workspace", "") is None
    path = write_session(tmp_path, "")
    with path.open("wb") as big:
        big.truncate(MAX_SESSION_BYTES + 1)
    assert pack_session(tmp_path, "/github/workspace", SESSION) is None


def test_a_broken_or_hostile_note_is_ignored(tmp_path):
    for note in (None, "", "not json", "{}", json.dumps({"session_id": "../../x", "project": "p", "transcript": ""}),
                 json.dumps({"session_id": SESSION, "project": "../../etc", "transcript": "x"})):
        assert unpack_session(tmp_path, note) is None
    assert not (tmp_path / ".claude").exists() or not any((tmp_path / ".claude").rglob("*.jsonl"))


def test_helpers():
    assert notes_ref("codeagent/issue-7") == "refs/notes/codeagent/codeagent/issue-7"
    assert could_not_resume("No conversation found with session ID: 0000")
    assert not could_not_resume("API Error: 500")


def test_a_symbolic_link_planted_by_the_agent_is_never_followed(tmp_path):
    """The agent owns its HOME: a link there must not make the action (root) publish a file of its own."""
    secret = tmp_path / "action-environ"
    secret.write_text("ACTIONS_RUNTIME_TOKEN=abc")
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-github-workspace"
    project.mkdir(parents=True)
    (project / f"{SESSION}.jsonl").symlink_to(secret)
    assert pack_session(home, "/github/workspace", SESSION) is None

    linked_home = tmp_path / "linked"
    (linked_home / ".claude").mkdir(parents=True)
    (linked_home / ".claude" / "projects").symlink_to(home / ".claude" / "projects")
    assert pack_session(linked_home, "/github/workspace", SESSION) is None


def test_only_the_workspace_project_is_read():
    assert project_slug("/github/workspace") == "-github-workspace"
    assert project_slug("/tmp/tmprmvp6e44/ws") == "-tmp-tmprmvp6e44-ws"


# --- every CLI's sessions, through one note format -----------------------------------

THREAD = "01a22cb0-8d33-7381-adfc-18afbd53da81"
CODEX_ROLLOUT = f".codex/sessions/2026/11/30/rollout-2026-11-30T13-05-08-{THREAD}.jsonl"
GEMINI_CHAT = f".gemini/tmp/workspace/chats/session-2026-11-30T13-05-{SESSION[:8]}.jsonl"


def write_file(home, relative: str, text: str = '{"line": 1}\n'):
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("layout,session,relative", [(CODEX, THREAD, CODEX_ROLLOUT), (GEMINI, SESSION, GEMINI_CHAT)],
                         ids=["codex", "gemini"])
def test_each_cli_s_session_files_round_trip(tmp_path, layout, session, relative):
    write_file(tmp_path / "a", relative)
    write_file(tmp_path / "a", relative.replace(session[:8], "99999999"), "another session")

    note = pack(layout, tmp_path / "a", "/github/workspace", session)

    assert list(json.loads(note)["files"]) == [relative]
    assert unpack(layout, tmp_path / "b", note) == session
    assert (tmp_path / "b" / relative).read_text() == '{"line": 1}\n'


def test_a_note_of_another_agent_or_with_a_path_it_could_not_have_written_is_ignored(tmp_path):
    write_file(tmp_path / "a", CODEX_ROLLOUT)
    note = json.loads(pack(CODEX, tmp_path / "a", "/github/workspace", THREAD))
    assert unpack(GEMINI, tmp_path / "b", json.dumps(note)) is None
    assert unpack_session(tmp_path / "b", json.dumps(note)) is None
    for path in (".codex/sessions/../../.bashrc", f".codex/sessions/2026/11/30/rollout-x-{SESSION}.jsonl",
                 f".codex/sessions/2026/../30/rollout-x-{THREAD}.jsonl", f".codex/config.toml/{THREAD}.jsonl"):
        assert unpack(CODEX, tmp_path / "b", json.dumps({**note, "files": {path: "x"}})) is None
    assert not (tmp_path / "b").exists()


def test_a_first_version_note_is_still_claude_code_s():
    note = json.dumps({"version": 1, "session_id": SESSION, "project": "-github-workspace", "transcript": "t\n"})
    assert CLAUDE.accepts(f".claude/projects/-github-workspace/{SESSION}.jsonl", SESSION)
    assert unpack(CODEX, Path("/nonexistent"), note) is None


def test_a_link_in_the_codex_home_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write_file(outside, f"2026/11/30/rollout-x-{THREAD}.jsonl", "ACTIONS_RUNTIME_TOKEN=abc")
    (tmp_path / "home" / ".codex").mkdir(parents=True)
    (tmp_path / "home" / ".codex" / "sessions").symlink_to(outside)
    assert pack(CODEX, tmp_path / "home", "/github/workspace", THREAD) is None


def test_unpacking_replaces_a_planted_link_instead_of_writing_through_it(tmp_path):
    write_file(tmp_path / "a", CODEX_ROLLOUT)
    note = pack(CODEX, tmp_path / "a", "/github/workspace", THREAD)
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "b" / ".codex").mkdir(parents=True)
    (tmp_path / "b" / ".codex" / "sessions").symlink_to(victim)
    assert unpack(CODEX, tmp_path / "b", note) == THREAD
    assert not any(victim.iterdir())
