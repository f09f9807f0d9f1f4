"""The runner's checkout, before the agent touches it: checked, switched to the branch, given a git of its own.

Everything here runs before the agent starts, as the checkout's owner (the runner's user,
so no file ends up owned by root) and without any credential: the objects come from the
action's own repository over the local file system. Once the agent has run, no git
command here (or anywhere in the action's container) reads the checkout again: the
packer reads it, in a container with no secret (`codeagent.sandbox.pack`).

The agent gets a `.git` of its own (`agent_git_dir`): a small repository whose objects
are the action repository's, read-only, so `git diff`, `git stash` or `git rm` work for
it while the checkout's real `.git` (config, hooks, credentials persisted by
actions/checkout) stays out of its reach.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from codeagent.errors import ConfigError
from codeagent.gitcmd import Git

AGENT_OBJECTS = "/opt/codeagent/objects"
"""Where the sandbox sees the action repository's objects (read-only): the agent git's alternates."""


class Checkout:
    """The checkout at ``path`` (GITHUB_WORKSPACE)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        info = self.path.stat()
        self.owner = (info.st_uid, info.st_gid)
        as_owner = self.owner if os.geteuid() == 0 and self.owner != (0, 0) else None
        # A global config of this run's own, never the user's: git clears command-line config for the
        # upload-pack it runs on the action's repository (owned by root), which must also trust it.
        self._config = _run_config()
        self._git = Git(self.path, env={"GIT_CONFIG_GLOBAL": str(self._config)}, user=as_owner)

    def check_clean(self) -> None:
        """Refuse a checkout an earlier step changed: the agent would start from files nobody reviewed,
        and its change would carry them."""
        dirty = self.dirty_paths()
        if dirty:
            shown = ", ".join(f"`{path}`" for path in dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
            raise ConfigError(
                f"the checkout has changes from an earlier step of the job ({shown}); codeagent commits everything "
                "that changed, so they would land in the pull request as the agent's work. Run codeagent right "
                "after actions/checkout, or commit, stash or .gitignore those files in the step that makes them.")

    def dirty_paths(self) -> list[str]:
        """Paths changed in the working tree (tracked or new, not ignored) since HEAD."""
        out = self._git.check("status", "--porcelain", "-z", "--untracked-files=all", "--ignore-submodules=all")
        return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})

    def switch_to(self, repository_path: Path, branch: str, sha: str) -> None:
        """Check out ``sha`` of the action's repository at ``repository_path`` as local ``branch``."""
        self._git.check("fetch", "--quiet", "--no-tags", str(repository_path), f"+{sha}:refs/codeagent/start")
        self._git.check("checkout", "--quiet", "--force", "--no-track", "-B", branch, sha)

    def index_path(self) -> Path:
        """The checkout's own index (its stat data lets the packer read only what changed)."""
        return Path(self._git.check("rev-parse", "--absolute-git-dir")) / "index"

    def agent_git_dir(self, directory: Path, branch: str, sha: str, shallow: Path | None = None) -> None:
        """A `.git` for the agent at ``directory``: on ``branch`` at ``sha``, objects borrowed read-only."""
        if directory.exists():
            shutil.rmtree(directory)
        for sub in ("objects/info", "refs/heads", "info"):
            (directory / sub).mkdir(parents=True)
        (directory / "HEAD").write_text(f"ref: refs/heads/{branch}\n")
        (directory / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n"
                                          "\tbare = false\n\tlogallrefupdates = true\n")
        (directory / "objects" / "info" / "alternates").write_text(AGENT_OBJECTS + "\n")
        ref = directory / "refs" / "heads" / branch
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(sha + "\n")
        shutil.copy2(self.index_path(), directory / "index")
        if shallow is not None and shallow.is_file():
            shutil.copyfile(shallow, directory / "shallow")
        for path in [directory, *directory.rglob("*")]:
            os.chown(path, *self.owner, follow_symlinks=False)


def _run_config() -> Path:
    """A git config file for the checkout's commands: trust every directory (the checkout belongs to
    the runner's user, the action's repository to root) and serve any commit to a local fetch."""
    handle, name = tempfile.mkstemp(prefix="codeagent-", suffix=".gitconfig")
    with os.fdopen(handle, "w") as config:
        config.write("[safe]\n\tdirectory = *\n[uploadpack]\n\tallowAnySHA1InWant = true\n")
    os.chmod(name, 0o644)
    return Path(name)
