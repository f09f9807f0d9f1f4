"""From the agent's files to a pushed commit, with real git: the packer, the checks, the action's repository.

The packer (codeagent.sandbox.pack) runs here in-process instead of in its container; what it
reads and writes is the same. The server is a bare repository reached over file://.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codeagent.changes import Caps
from codeagent.checkout import Checkout
from codeagent.errors import GitError
from codeagent.gitcmd import Identity
from codeagent.publish import check_and_commit
from codeagent.repository import Repository
from codeagent.sandbox import pack

EXCLUDES = str(Path(pack.__file__).with_name("never-commit.gitignore"))
BOT = Identity("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}).stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """The server's `octo-org/textstats.git`, with a main branch of a few files and a workflow."""
    seed = tmp_path / "seed"
    (seed / "textstats").mkdir(parents=True)
    (seed / ".github" / "workflows").mkdir(parents=True)
    (seed / "textstats" / "__init__.py").write_text("def char_count(text):\n    return len(text)\n")
    (seed / "old.txt").write_text("old\n")
    (seed / ".gitignore").write_text(".env\nbuild/\nconfig/local.toml\n")
    (seed / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (seed / ".github" / "CODEOWNERS").write_text("* @octo-owner\n")
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "Initial commit")
    bare = tmp_path / "server" / "octo-org" / "textstats.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


class Setup:
    """The action's repository, the checkout handed to the agent, and the packer's output directory."""

    def __init__(self, tmp_path: Path, server: Path) -> None:
        self.repo = Repository(tmp_path / "state" / "repo.git", server_url=f"file://{server.parent.parent}",
                               repository="octo-org/textstats", token="ghs_" + "t" * 36, identity=BOT)
        self.workspace = tmp_path / "workspace"
        git(tmp_path, "clone", "-q", str(server), str(self.workspace))
        self.checkout = Checkout(self.workspace)
        self.base = self.repo.fetch_branch("main")
        assert self.base
        self.tip = self.repo.empty_commit(self.base, "codeagent: received #7, preparing to implement")
        self.checkout.switch_to(self.repo.path, "codeagent/issue-7", self.tip)
        self.out = tmp_path / "out"
        self.out.mkdir()

    def pack(self, **caps: int) -> Path:
        args = ["--base", self.tip, "--workspace", str(self.workspace), "--objects", str(self.repo.objects),
                "--index", str(self.checkout.index_path()), "--out", str(self.out), "--excludes", EXCLUDES,
                "--since", "0"] + [arg for key, value in caps.items() for arg in (f"--{key.replace('_', '-')}", str(value))]
        assert pack.main(args) == 0
        return self.out

    def commit(self, caps: Caps = Caps(), **pack_caps: int):
        return check_and_commit(self.repo, self.pack(**pack_caps), self.tip, "codeagent: the change (#7)", caps)

    def tree(self, sha: str) -> dict[str, str]:
        listing = git(self.repo.path, "ls-tree", "-r", sha)
        return {line.split("\t")[1]: line.split()[0] for line in listing.splitlines()}


@pytest.fixture
def setup(tmp_path: Path, server: Path) -> Setup:
    return Setup(tmp_path, server)


def write(root: Path, path: str, text: str = "x\n") -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def test_the_agents_files_become_one_commit_of_the_actions_own(setup):
    write(setup.workspace, "textstats/__init__.py", "def word_count(text):\n    return len(text.split())\n")
    write(setup.workspace, "tests/test_words.py")
    (setup.workspace / "old.txt").unlink()
    write(setup.workspace, "textstats/__pycache__/x.cpython-311.pyc")  # build litter, never committed

    change = setup.commit()

    commit = change.commit
    assert commit is not None and change.left_out == ()
    assert {(f.path, f.status) for f in commit.files} == {("textstats/__init__.py", "modified"),
                                                          ("tests/test_words.py", "added"), ("old.txt", "deleted")}
    assert git(setup.repo.path, "log", "-1", "--format=%an|%s|%P", commit.sha) == (
        f"github-actions[bot]|codeagent: the change (#7)|{setup.tip}")


def test_nothing_changed_is_no_commit(setup):
    assert setup.commit().commit is None


def test_ignored_files_the_agent_changed_are_named_and_never_committed(setup):
    write(setup.workspace, ".env", "SECRET=1\n")
    write(setup.workspace, "build/out.o")
    write(setup.workspace, "config/local.toml")  # in a folder the repository does not have
    write(setup.workspace, "textstats/new.py")

    change = setup.commit()

    assert [f.path for f in change.commit.files] == ["textstats/new.py"]
    assert set(change.ignored_changed) == {".env", "build", "config/local.toml"}


def test_a_nested_repository_is_committed_as_files_and_its_config_never_runs(setup, tmp_path):
    nested = setup.workspace / "third_party" / "up"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    write(nested, "lib.py", "print('lib')\n")
    write(nested, "deep/more.py")
    marker = tmp_path / "PWNED"
    git(nested, "config", "filter.evil.clean", f"touch {marker}; cat")
    git(nested, "config", "core.fsmonitor", f"touch {marker}")
    write(nested, ".gitattributes", "*.py filter=evil\n")

    change = setup.commit()

    assert not marker.exists()
    tree = setup.tree(change.commit.sha)
    assert tree["third_party/up/lib.py"] == "100644" and "third_party/up/deep/more.py" in tree
    assert not any(mode == "160000" for mode in tree.values())
    assert [item.path for item in change.left_out] == ["third_party/up"]  # said: its .git is not committed


def test_an_empty_git_init_does_not_fail_the_run(setup):
    empty = setup.workspace / "vendor" / "empty"
    empty.mkdir(parents=True)
    git(empty, "init", "-q")
    write(setup.workspace, "textstats/real.py")

    change = setup.commit()

    assert [f.path for f in change.commit.files] == ["textstats/real.py"]


def test_workflow_files_and_symlinks_to_them_are_put_back_with_a_note(setup):
    write(setup.workspace, ".github/workflows/ci.yml", "on: pull_request_target\n")
    write(setup.workspace, ".github/workflows/new.yml", "on: push\n")
    write(setup.workspace, "textstats/ok.py")

    change = setup.commit()

    tree = setup.tree(change.commit.sha)
    assert git(setup.repo.path, "show", f"{change.commit.sha}:.github/workflows/ci.yml") == "on: push"
    assert ".github/workflows/new.yml" not in tree and "textstats/ok.py" in tree
    assert {item.path for item in change.left_out} == {".github/workflows/ci.yml", ".github/workflows/new.yml"}


def github_as(workspace: Path, path: str, kind: str) -> None:
    """Make ``path`` (a folder of the base) a symlink to a folder of the agent's, or a file."""
    shutil.rmtree(workspace / path)
    if kind == "symlink":
        write(workspace, "agents/workflows/evil.yml", "on: push\n")
        write(workspace, "agents/CODEOWNERS", "* @evil\n")
        write(workspace, "agents/evil.yml", "on: push\n")
        (workspace / path).symlink_to(os.path.relpath(workspace / "agents", (workspace / path).parent))
    else:
        write(workspace, path, "on: push\n")


@pytest.mark.parametrize("kind", ["symlink", "file"])
@pytest.mark.parametrize("path", [".github", ".github/workflows"])
def test_github_or_its_workflows_made_a_symlink_or_a_file_is_put_back_whole(setup, path, kind):
    github_as(setup.workspace, path, kind)
    write(setup.workspace, "hello.txt", "hello\n")

    change = setup.commit()

    tree, base = setup.tree(change.commit.sha), setup.tree(setup.tip)
    assert {p: m for p, m in tree.items() if p.startswith(".github")} == {
        ".github/CODEOWNERS": "100644", ".github/workflows/ci.yml": "100644"}
    assert git(setup.repo.path, "rev-parse", f"{change.commit.sha}:.github") == git(
        setup.repo.path, "rev-parse", f"{setup.tip}:.github")
    assert set(tree) - set(base) <= {"hello.txt", "agents/workflows/evil.yml", "agents/CODEOWNERS", "agents/evil.yml"}
    assert "hello.txt" in tree and not any(f.path.startswith(".github") for f in change.commit.files)
    assert path in {item.path for item in change.left_out}


def test_a_symlink_at_github_where_the_base_has_none_is_left_out(setup, server, tmp_path):
    shutil.rmtree(setup.workspace / ".github")
    git(setup.workspace, "commit", "-qam", "no .github")
    setup.tip = git(setup.workspace, "rev-parse", "HEAD")
    git(setup.workspace, "push", "-q", str(setup.repo.path), "HEAD:refs/heads/no-github")
    setup.checkout.switch_to(setup.repo.path, "codeagent/issue-7", setup.tip)
    write(setup.workspace, "ci/workflows/evil.yml", "on: push\n")
    (setup.workspace / ".github").symlink_to("ci")

    change = setup.commit()

    tree = setup.tree(change.commit.sha)
    assert not any(p.startswith(".github") for p in tree) and "ci/workflows/evil.yml" in tree
    assert [item.path for item in change.left_out] == [".github"]


def test_paths_git_refuses_are_left_out_and_said_and_the_rest_committed(setup):
    write(setup.workspace, ".GIT/config", "[core]\n\tfsmonitor = touch /tmp/pwned\n")
    write(setup.workspace, "git~1/config")
    write(setup.workspace, "odd/" + "x" * 255)
    write(setup.workspace, "odd/tab\there")
    write(setup.workspace, "hello.txt", "hello\n")

    change = setup.commit()

    files = {f.path for f in change.commit.files}
    assert files == {"hello.txt", "odd/" + "x" * 255, "odd/tab\there"}
    refused = {item.path: item.reason for item in change.left_out}
    assert set(refused) == {".GIT/config", "git~1/config"}
    assert all("git refuses" in reason for reason in refused.values())


def test_files_over_the_caps_are_left_out_and_the_rest_committed(setup):
    (setup.workspace / "huge.bin").write_bytes(b"\0" * 3000)
    write(setup.workspace, "small.txt", "a" * 100)

    change = setup.commit(max_file_bytes=1000)

    assert [f.path for f in change.commit.files] == ["small.txt"]
    assert [(item.path, "size cap" in item.reason) for item in change.left_out] == [("huge.bin", True)]


def test_the_action_checks_the_caps_again_whatever_the_packer_said(setup):
    (setup.workspace / "big.bin").write_bytes(b"\1" * 5000)

    change = setup.commit(Caps(max_file_bytes=1000, max_total_bytes=10_000))

    assert change.commit is None and [item.path for item in change.left_out] == ["big.bin"]


def test_a_bundle_that_does_not_start_where_the_agent_started_is_refused(setup, tmp_path):
    write(setup.workspace, "a.txt")
    out = setup.pack()
    other = setup.repo.empty_commit(setup.base, "somewhere else")

    with pytest.raises(GitError, match="does not start where the agent started"):
        check_and_commit(setup.repo, out, other, "m", Caps())


def test_the_commit_is_pushed_with_the_session_note_in_one_push(setup, server):
    setup.repo.push("codeagent/issue-7", setup.tip, expected=None)
    write(setup.workspace, "a.txt")
    change = setup.commit()
    setup.repo.write_note("refs/notes/codeagent/codeagent/issue-7", change.commit.sha, '{"session": 1}')

    pushed = setup.repo.push("codeagent/issue-7", change.commit.sha, expected=setup.tip,
                             notes=("refs/notes/codeagent/codeagent/issue-7",))

    assert git(server, "rev-parse", "refs/heads/codeagent/issue-7") == pushed == change.commit.sha
    assert setup.repo.read_note("refs/notes/codeagent/codeagent/issue-7") == '{"session": 1}'


def test_a_branch_someone_pushed_to_meanwhile_gets_our_commit_on_top_of_theirs(setup, server, tmp_path):
    setup.repo.push("codeagent/issue-7", setup.tip, expected=None)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "codeagent/issue-7", str(server), str(other))
    write(other, "theirs.txt")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "a human's commit")
    git(other, "push", "-q", "origin", "codeagent/issue-7")
    write(setup.workspace, "ours.txt")
    change = setup.commit()

    pushed = setup.repo.push("codeagent/issue-7", change.commit.sha, expected=setup.tip)

    assert git(server, "log", "--format=%s", "-3", "codeagent/issue-7").splitlines() == [
        "codeagent: the change (#7)", "a human's commit", "codeagent: received #7, preparing to implement"]
    assert set(setup.tree(pushed)) >= {"ours.txt", "theirs.txt"}


def test_the_token_never_reaches_the_command_line_or_a_config_file(setup):
    config = (setup.repo.path / "config").read_text()
    assert "ghs_" not in config and "extraheader" not in config


def test_the_checks_run_as_many_git_commands_for_300_files_as_for_one(setup, tmp_path):
    from tests.unit.test_git_credentials import STANDARD_PATH, recording_git
    log = tmp_path / "git-calls.jsonl"
    repo = Repository(setup.repo.path, server_url="file:///nowhere", repository="octo-org/textstats",
                      token="ghs_" + "t" * 36, identity=BOT,
                      git_env={"PATH": f"{recording_git(tmp_path / 'bin', log)}:{STANDARD_PATH}"})
    for number in range(300):
        write(setup.workspace, f"many/{number}.txt", "x" * number)
    write(setup.workspace, ".github/workflows/ci.yml", "on: pull_request_target\n")

    change = check_and_commit(repo, setup.pack(), setup.tip, "m", Caps(max_file_bytes=250))

    assert len(change.commit.files) == 251 and len(change.left_out) == 50
    assert len(log.read_text().splitlines()) <= 16  # one `cat-file -s` per file was 300 more
