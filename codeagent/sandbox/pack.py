"""The packer: runs in a container of its own, with no secret and no network, as the checkout's owner.

    python -m codeagent.sandbox.pack --base SHA --workspace DIR --objects DIR --index FILE --out DIR

It turns what the agent left in the checkout into data: one commit on top of ``--base`` in a
git bundle (``change.bundle``) and a ``manifest.json`` of what it left out and why. git runs
here on the agent's files with a fresh repository of its own (the agent's ``.git`` is never
read, so no config, hook or filter of the agent's can run), starting from the index the action
wrote before the agent ran, so only files whose stat changed are read again.

What is left out: files over ``--max-file-bytes``, files past ``--max-total-bytes``, paths git
refuses to add (``.GIT/config``, ``git~1/x``: names that are ``.git`` on some file system), and
nested repositories' own ``.git``; a nested repository's files are added as plain files.
The action checks the bundle again before it commits anything (`codeagent.publish`).
Only the standard library: this runs with whatever Python the image has.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

MANIFEST_LIST_LIMIT = 200
"""Entries kept per list in the manifest."""


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    packer = Packer(args)
    # Opened first: the action holds the other end from before this started, so a FIFO with no writer
    # means the action is gone (and the read ends at once).
    go = os.open(args.go, os.O_RDONLY | os.O_NONBLOCK) if args.go else -1
    packer.prepare()
    if args.go and not wait_for_go(go, args.wait_s):
        return 0  # not asked to pack: nothing of the checkout was read, nothing written
    manifest = packer.pack()
    (Path(args.out) / "manifest.json").write_text(json.dumps(manifest))  # ensure_ascii: odd bytes as \\udcXX
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="codeagent.sandbox.pack")
    parser.add_argument("--base", required=True, help="the commit the agent started from")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--objects", required=True, help="object directory holding --base (read-only)")
    parser.add_argument("--index", default="", help="the checkout's index at --base, for its stat data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--excludes", default="", help="gitignore file of build litter never committed")
    parser.add_argument("--max-file-bytes", type=int, default=100 * 1024**2)
    parser.add_argument("--max-total-bytes", type=int, default=500 * 1024**2)
    parser.add_argument("--since", type=float, default=0.0, help="when the agent started (epoch seconds)")
    parser.add_argument("--go", default="", help="a FIFO: get ready, then read the checkout only once the action "
                                                 "says `go` on it")
    parser.add_argument("--wait-s", type=int, default=6 * 3600, help="the longest wait for `go`")
    return parser.parse_args(argv)


def wait_for_go(fifo: int, wait_s: int) -> bool:
    """Whether the action said `go` (a line) on the FIFO open at ``fifo`` within ``wait_s``; False for anything
    else, for its end (the action is gone: the kernel closed its end), and past the wait."""
    def give_up(signum, frame):
        raise TimeoutError

    os.set_blocking(fifo, True)
    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(max(1, wait_s))
    try:
        with os.fdopen(fifo, "rb") as pipe:
            said = pipe.readline(16)
    except TimeoutError:
        return False
    finally:
        signal.alarm(0)
    return said == b"go\n"


class Packer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workspace = Path(args.workspace)
        self.git_dir = Path(args.out) / "pack.git"
        self.left_out: dict[str, list] = {"too_large": [], "over_total": [], "nested": [], "refused": [],
                                          "ignored_changed": []}
        self.total = 0

    def prepare(self) -> None:
        """What needs nothing of the agent's: the repository, from the index the action wrote before the agent."""
        self._init()

    def pack(self) -> dict:
        changed = self._changed_paths()
        plain, nested = self._split_nested(changed)
        self._add(self._within_limits(plain))
        for path in nested:
            self._add_nested(path)
        tree = self._git("write-tree").strip()
        base_tree = self._git("rev-parse", f"{self.args.base}^{{tree}}").strip()
        self.left_out["ignored_changed"] = self._ignored_changed()
        commit = None
        if tree != base_tree:
            commit = self._git("commit-tree", tree, "-p", self.args.base, "-m", "codeagent: the agent's change").strip()
            self._git("update-ref", "refs/heads/change", commit)
            self._git("bundle", "create", str(Path(self.args.out) / "change.bundle"), "refs/heads/change",
                      f"^{self.args.base}")
        return {"base": self.args.base, "commit": commit,
                **{key: value[:MANIFEST_LIST_LIMIT] for key, value in self.left_out.items()}}

    def _init(self) -> None:
        init_env = {k: v for k, v in self._env().items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
        subprocess.run(["git", "init", "-q", "--bare", str(self.git_dir)], check=True, env=init_env,
                       capture_output=True)
        alternates = self.git_dir / "objects" / "info" / "alternates"
        alternates.write_text(self.args.objects + "\n")
        if self.args.index and Path(self.args.index).is_file():
            shutil.copy2(self.args.index, self.git_dir / "index")  # its mtime too: git's racy-entry check needs it
        else:
            self._git("read-tree", self.args.base)

    def _changed_paths(self) -> list[str]:
        """Paths the work tree changed against the index (modified, deleted) or added (untracked, not ignored).

        Submodules are never looked into: a git that enters one reads its config, which the agent
        wrote. Only the work tree is compared (this repository has no HEAD to compare with)."""
        changed = self._git("diff-files", "--name-only", "-z", "--ignore-submodules=all", "--no-renames")
        new = self._git("ls-files", "--others", "--exclude-standard", "-z")
        return [path for path in dict.fromkeys([*changed.split("\0"), *new.split("\0")]) if path]

    def _split_nested(self, paths: list[str]) -> tuple[list[str], list[str]]:
        """Nested repositories show as their directory (``dir/``) or as a gitlink that changed."""
        plain, nested = [], []
        for path in paths:
            full = self.workspace / path.rstrip("/")
            if (full / ".git").exists() and full.is_dir() and not full.is_symlink():
                nested.append(path.rstrip("/"))
            else:
                plain.append(path)
        return plain, nested

    def _within_limits(self, paths: list[str]) -> list[str]:
        """The paths to stage: files under the per-file and total caps. Deletions are staged here."""
        kept, gone = [], []
        for path in paths:
            size = _size(self.workspace, path)
            if size is None:
                gone.append(path)
            elif self._fits(path, size):
                kept.append(path)
        if gone:  # update-index, not add: a path under what is now a symlink cannot be `git add`ed
            self._git("update-index", "--force-remove", "-z", "--stdin", stdin="\0".join(gone) + "\0")
        return kept

    def _fits(self, path: str, size: int) -> bool:
        if size > self.args.max_file_bytes:
            self.left_out["too_large"].append([path, size])
            return False
        if self.total + size > self.args.max_total_bytes:
            self.left_out["over_total"].append([path, size])
            return False
        self.total += size
        return True

    def _add(self, paths: list[str]) -> None:
        """Stage ``paths`` as they are; the ones git refuses (`.GIT/x`, `git~1/x`, ...) are left out, and said.

        `update-index --stdin` takes each path as it is (no pathspec: `add --pathspec-from-file` matched
        every path against every other, 13 s for 30,000 files) and skips a path git refuses instead of
        failing them all; when it fails on something else (a file it cannot read), `add --ignore-errors`
        adds what it can. Whatever is not in the index afterwards was refused."""
        if not paths:
            return
        listing = "\0".join(paths) + "\0"
        if self._git_status("update-index", "--add", "-z", "--stdin", stdin=listing):
            self._git_status("--literal-pathspecs", "add", "--all", "--ignore-errors", "--pathspec-from-file=-",
                             "--pathspec-file-nul", stdin=listing)
        staged = set(self._git("ls-files", "-z").split("\0"))
        self.left_out["refused"] += [[path, 0] for path in paths if path not in staged]

    def _add_nested(self, path: str) -> None:
        """A nested repository's files, added as plain files (its own .git never read)."""
        found = _files_below(self.workspace, path)
        ignored = self._check_ignore(found)
        files = [f for f in found if f not in ignored]
        entries, count = [], 0
        for relative in files:
            full = self.workspace / relative
            info = os.lstat(full)
            if not self._fits(relative, info.st_size):
                continue
            if stat.S_ISLNK(info.st_mode):
                sha = self._git("hash-object", "-w", "--stdin", stdin=os.readlink(full)).strip()
                mode = "120000"
            else:
                sha = self._git("hash-object", "-w", "--no-filters", "--", str(full)).strip()
                mode = "100755" if info.st_mode & 0o111 else "100644"
            entries.append(f"{mode} {sha}\t{relative}")
            count += 1
        self._git("update-index", "--force-remove", "--", path)
        if entries:
            self._git("update-index", "--add", "--index-info", stdin="\n".join(entries) + "\n")
        self.left_out["nested"].append([path, count])

    def _check_ignore(self, paths: list[str]) -> dict[str, str]:
        """The ignored ones of ``paths``, each with the file of the pattern that ignores it."""
        if not paths:
            return {}
        result = subprocess.run(["git", "check-ignore", "-v", "-z", "--no-index", "--stdin"], cwd=self.workspace,
                                env=self._env(), capture_output=True, input=_bytes("\0".join(paths) + "\0"))
        fields = _text(result.stdout).split("\0")
        return {fields[i + 3]: fields[i] for i in range(0, len(fields) - 3, 4)}

    def _ignored_changed(self) -> list[str]:
        """Ignored files (by the repository's own .gitignore) that changed while the agent ran.

        ``--ignored=matching``: each path a pattern matches (``config/local.toml`` in a new folder, not
        the folder; ``node_modules/``, not every file in it)."""
        out = self._git("status", "--porcelain=v1", "-z", "--ignored=matching", "--untracked-files=normal",
                         "--ignore-submodules=all")
        ignored = [entry[3:].rstrip("/") for entry in out.split("\0") if entry.startswith("!! ")]
        sources = self._check_ignore(ignored)
        changed = []
        for path in ignored:
            if self.args.excludes and sources.get(path) == self.args.excludes:
                continue  # build litter on our own list, not something the repository ignores
            try:
                if os.lstat(self.workspace / path).st_mtime >= self.args.since:
                    changed.append(path)
            except OSError:
                continue
        return changed

    def _git(self, *args: str, stdin: str | None = None) -> str:
        """git's output as text; a path's bytes that are not UTF-8 survive the round trip (surrogateescape)."""
        result = self._run(args, stdin)
        if result.returncode != 0:
            sys.stderr.write(f"git {args[0]} failed: {_text(result.stderr)!r}")
            raise SystemExit(3)
        return _text(result.stdout)

    def _git_status(self, *args: str, stdin: str | None = None) -> int:
        """git's exit status (its output is not needed, its errors are the caller's to judge)."""
        return self._run(args, stdin).returncode

    def _run(self, args: tuple[str, ...], stdin: str | None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], input=_bytes(stdin) if stdin is not None else None,
                              capture_output=True, env=self._env(), cwd=self.workspace)

    def _env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8",
               "GIT_DIR": str(self.git_dir), "GIT_WORK_TREE": str(self.workspace), "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "codeagent",
               "GIT_AUTHOR_EMAIL": "codeagent@localhost", "GIT_COMMITTER_NAME": "codeagent",
               "GIT_COMMITTER_EMAIL": "codeagent@localhost", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
        config = {"core.hooksPath": "/dev/null", "core.fsmonitor": "false", "core.untrackedCache": "false",
                  "core.bare": "false", "safe.directory": "*", "core.quotePath": "false",
                  **({"core.excludesFile": self.args.excludes} if self.args.excludes else {})}
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        return env


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _size(root: Path, path: str) -> int | None:
    """Size of the file at ``path`` (a symlink's own); None when there is nothing there, or when one of
    its parents is a symlink (the path as git knows it is gone)."""
    parent = root
    for part in path.rstrip("/").split("/")[:-1]:
        parent = parent / part
        if parent.is_symlink():
            return None
    try:
        info = os.lstat(root / path)
    except OSError:
        return None
    return None if stat.S_ISDIR(info.st_mode) else info.st_size  # a file that became a folder: gone as a file


def _files_below(root: Path, top: str) -> list[str]:
    """Files and symlinks under ``top`` (relative to ``root``), iteratively, never entering a ``.git``."""
    found, stack = [], [top]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(root / directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            relative = f"{directory}/{entry.name}"
            if entry.name == ".git":
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(relative)
            elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                found.append(relative)
    return sorted(found)


if __name__ == "__main__":
    sys.exit(main())
