"""From the packer's data to the commit the action pushes: checked, and its own.

The packer's bundle holds one commit of the agent's files on top of the commit the agent
started from. Before anything is pushed, that change is checked here, in the action's own
repository, as data: paths that must not be pushed go back to what they were, with a note
saying why, and the rest becomes the action's commit (its identity, its message).

Never pushed: files under `.github/workflows/` (the workflow token may not, and a symlink at
`.github` or `.github/workflows` is a way around that check), submodule pointers and
`.gitmodules` changes (a nested repository's files are committed as files by the packer),
files over the size cap, and whatever comes after the total cap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codeagent.changes import Caps, Change, Commit, FileChange, LeftOut
from codeagent.repository import Repository, TreeChange

WORKFLOWS = ".github/workflows"
MANIFEST_BYTES = 1024 * 1024


STATUS = {"A": "added", "M": "modified", "T": "modified", "D": "deleted"}


def check_and_commit(repo: Repository, out: Path, base: str, message: str, caps: Caps) -> Change:
    """The packer's output in ``out`` (change.bundle, manifest.json), checked and committed on ``base``."""
    manifest = read_manifest(out / "manifest.json")
    left_out = list(_left_out_by_packer(manifest))
    ignored = tuple(_strings(manifest.get("ignored_changed")))
    if not manifest.get("commit"):
        return Change(None, tuple(left_out), ignored)
    imported = repo.import_bundle(out / "change.bundle", base)
    changes = repo.changes(base, imported)
    restore = _check(repo, changes, caps)
    tree = repo.rewrite(imported, base, set(restore))
    kept = [FileChange(c.path, STATUS.get(c.status, "modified")) for c in repo.changes(base, tree)]
    left_out += _put_back(changes, {c.path for c in kept}, restore)
    if tree == repo.tree_of(base) or not kept:
        return Change(None, tuple(left_out), ignored)
    commit = repo.commit(tree, [base], message)
    return Change(Commit(commit, tuple(kept), tuple(left_out)), tuple(left_out), ignored)


def _check(repo: Repository, changes: list[TreeChange], caps: Caps) -> dict[str, str]:
    """The paths to put back as they are in the base (each with everything under it), and why."""
    restore = {change.path: reason for change in changes if (reason := _refusal(change))}
    files = [change for change in changes if change.path not in restore and _has_blob(change)]
    sizes = repo.sizes_of([change.new_sha for change in files])
    total = 0
    for change in files:
        size = sizes[change.new_sha]
        if size > caps.max_file_bytes:
            restore[change.path] = (f"over the file size cap ({_size(size)} > {_size(caps.max_file_bytes)}, "
                                    "`max-file-size`)")
        elif total + size > caps.max_total_bytes:
            restore[change.path] = f"past the size cap of one change ({_size(caps.max_total_bytes)}, `max-change-size`)"
        else:
            total += size
    return restore


def _put_back(changes: list[TreeChange], kept: set[str], restore: dict[str, str]) -> list[LeftOut]:
    """A note for each change that is not in the commit: its own reason, or the one of the path above it."""
    notes = []
    for change in changes:
        if change.path in kept:
            continue
        root = next((root for root in _self_and_parents(change.path) if root in restore), None)
        if root == change.path:
            notes.append(LeftOut(change.path, restore[root]))
        else:
            notes.append(LeftOut(change.path, f"under `{root}`, which was put back as it was" if root else
                                 "put back as it was with the paths around it"))
    return notes


def _refusal(change: TreeChange) -> str | None:
    """Why a change may never be pushed, or None.

    `.github` or `.github/workflows` as anything but a folder (a symlink, a file) is a way around a
    check by path: it is put back whole, whatever the agent made of it."""
    path = change.path
    if path in (".github", WORKFLOWS) or path.startswith(WORKFLOWS + "/"):
        return "a workflow file: the workflow token may not push changes under `.github/workflows/`"
    if change.new_mode == "160000" or change.old_mode == "160000":
        return "a submodule pointer: nested repositories are committed as files, never as submodules"
    if path == ".gitmodules":
        return "`.gitmodules`: codeagent does not change submodules"
    return None


def _has_blob(change: TreeChange) -> bool:
    return change.status != "D" and change.new_mode != "160000"


def _self_and_parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]


def read_manifest(path: Path) -> dict[str, Any]:
    """The packer's manifest: data from a container that read the agent's files, so checked here."""
    try:
        with path.open("rb") as file:
            data = json.loads(file.read(MANIFEST_BYTES + 1)[:MANIFEST_BYTES])
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _left_out_by_packer(manifest: dict[str, Any]) -> list[LeftOut]:
    reasons = {"too_large": "over the file size cap (`max-file-size`)",
               "over_total": "past the size cap of one change (`max-change-size`)",
               "nested": "a nested repository: its files are committed as plain files, its `.git` is not",
               "refused": "a path git refuses to commit (a name that is `.git` on some file systems, or like it)"}
    found = []
    for key, reason in reasons.items():
        for entry in manifest.get(key) or []:
            if isinstance(entry, list) and entry and isinstance(entry[0], str):
                found.append(LeftOut(entry[0][:300], reason))
    return found[:200]


def _strings(value: Any) -> list[str]:
    return [item[:300] for item in value[:200] if isinstance(item, str)] if isinstance(value, list) else []


def _size(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"
