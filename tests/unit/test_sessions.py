"""Claude Code sessions packed into a note and unpacked for the next run."""

import json

from codeagent.agent.sessions import (
    MAX_SESSION_BYTES, could_not_resume, notes_ref, pack_session, project_slug, unpack_session,
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
