"""The workflow token on its way to the server: in the environment of fetch and push only, never on a
command line (where `ps` shows it) and never in a config file.

Every git command the action's repository runs goes through a recording `git` put first on PATH;
the server is the GitHub emulator over smart HTTP, which refuses a fetch or a push without the token,
so the recorded runs are the ones that carried it.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import pytest

from bench.github.emulator import GitHubEmulator
from codeagent.gitcmd import Identity
from codeagent.repository import Repository

REPO = "octo-org/textstats"
TOKEN = "ghs_" + "k" * 36
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NETWORK = ("fetch", "push")


def recording_git(directory: Path, log: Path) -> Path:
    """A `git` that appends its arguments and its git config environment to ``log``, then runs git."""
    real = shutil.which("git", path=STANDARD_PATH)
    assert real, "git is not installed"
    directory.mkdir()
    wrapper = directory / "git"
    wrapper.write_text(f"""#!{sys.executable}
import json, os, sys
config = [value for name, value in os.environ.items() if name.startswith("GIT_CONFIG_")]
with open({str(log)!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv, "config_env": config}}) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
""")
    wrapper.chmod(0o755)
    return directory


@pytest.fixture
def server(tmp_path: Path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "README.md").write_text("# textstats\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(TOKEN, "github-actions[bot]", type="Bot")
        github.create_repo(REPO, files)
        yield github


def test_the_token_is_only_in_the_environment_of_fetch_and_push_never_on_a_command_line(server, tmp_path):
    log = tmp_path / "git-calls.jsonl"
    path = recording_git(tmp_path / "bin", log)
    repo = Repository(tmp_path / "repo.git", server_url=server.server_url, repository=REPO, token=TOKEN,
                      identity=Identity("codeagent", "codeagent@localhost"),
                      git_env={"PATH": f"{path}:{STANDARD_PATH}"})

    main = repo.fetch_branch("main")
    assert main is not None and repo.fetch_branch("no-such-branch") is None
    first = repo.empty_commit(main, "codeagent: received #7, preparing to implement")
    repo.write_note("refs/notes/codeagent/codeagent/issue-7", first, '{"session": 1}')
    assert repo.push("codeagent/issue-7", first, expected=None,
                     notes=("refs/notes/codeagent/codeagent/issue-7",)) == first
    assert repo.read_note("refs/notes/codeagent/codeagent/issue-7") == '{"session": 1}'
    repo.delete_remote_branch("codeagent/issue-7")

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    network = [call for call in calls if call["argv"][1] in NETWORK]
    assert {call["argv"][1] for call in network} == set(NETWORK) and len(calls) > len(network)
    for call in calls:
        assert not any(TOKEN in arg or BASIC in arg for arg in call["argv"]), call["argv"]
        carries = any(BASIC in value for value in call["config_env"])
        assert carries == (call["argv"][1] in NETWORK), call["argv"]
    assert [b["name"] for b in server.branches(REPO)] == ["main"]  # pushed, then deleted: the token worked
    config = (repo.path / "config").read_text()
    assert TOKEN not in config and BASIC not in config and "extraheader" not in config
