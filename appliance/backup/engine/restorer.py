"""Restore: one path or a whole snapshot into a folder, byte for byte, with modes and mtimes."""
from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import BackupError, Unreadable, explain
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.index import ChunkIndex
from appliance.backup.engine.repository import Repository, releasing_packs

logger = logging.getLogger(__name__)
_names = itertools.count()


@dataclass
class RestoreReport:
    """What a restore wrote, and what it couldn't (path: why)."""

    files: int = 0
    folders: int = 0
    bytes: int = 0
    damaged: list[str] = field(default_factory=list)


def find(repo: Repository, index: ChunkIndex, snapshot: Snapshot, path: str) -> trees.Entry:
    """Return the entry at a path of a snapshot ("files/Photos"; "" or "/" is the root)."""
    node: trees.Entry = {"name": "", "type": trees.DIR, "tree": snapshot.tree}
    for part in [p for p in path.split("/") if p]:
        if node["type"] != trees.DIR:
            break
        try:
            entries = repo.read_tree(index, node["tree"])
        except Unreadable as exc:
            raise BackupError(f"the folder holding {path} is damaged in snapshot "
                              f"{snapshot.short_id} ({exc}); try an older snapshot") from None
        found = next((e for e in entries if e["name"] == part), None)
        if found is None:
            break
        node = found
    else:
        return node
    raise BackupError(f"{path} isn't in snapshot {snapshot.short_id}; see what it holds "
                      f"with `hearth backup list --snapshot {snapshot.short_id} [FOLDER]`")


class Restorer:
    """Writes entries of one snapshot under a target folder."""

    def __init__(self, repo: Repository, snapshot: Snapshot, target: Path, *,
                 progress: Callable[[RestoreReport], None] | None = None) -> None:
        self.repo = repo
        self.snapshot = snapshot
        self.target = target
        self.report = RestoreReport()
        self._progress = progress
        self._index = repo.load_index()

    @releasing_packs
    def run(self, paths: Sequence[str] = ()) -> RestoreReport:
        """Restore the given paths (everything if none); damaged parts are reported, skipped."""
        self.repo.check_readable()
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            for path in paths or [""]:
                clean = "/".join(p for p in path.split("/") if p)
                entry = find(self.repo, self._index, self.snapshot, clean)
                dest = self.target / clean if clean else self.target
                dest.parent.mkdir(parents=True, exist_ok=True)
                self._restore(entry, dest, clean or ".")
            os.sync()
        except OSError as exc:
            raise explain(exc, self.target, "restoring") from None
        return self.report

    def _restore(self, entry: trees.Entry, dest: Path, rel: str) -> None:
        if entry["type"] == trees.DIR:
            self._folder(entry, dest, rel)
        elif entry["type"] == trees.FILE:
            self._file(entry, dest, rel)
        else:
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            os.symlink(entry["target"], dest)
            os.utime(dest, ns=(entry["mtime_ns"], entry["mtime_ns"]), follow_symlinks=False)

    def _folder(self, entry: trees.Entry, dest: Path, rel: str) -> None:
        dest.mkdir(exist_ok=True)
        try:
            children = self.repo.read_tree(self._index, entry["tree"])
        except Unreadable as exc:
            self._damaged(f"{rel}/", exc)
            return
        os.chmod(dest, 0o700)  # writable while filled, whatever its saved mode
        for child in children:
            name = child["name"]
            self._restore(child, dest / name, name if rel == "." else f"{rel}/{name}")
        if "mode" in entry:
            os.chmod(dest, entry["mode"])
            os.utime(dest, ns=(entry["mtime_ns"], entry["mtime_ns"]))
        self.report.folders += 1

    def _file(self, entry: trees.Entry, dest: Path, rel: str) -> None:
        temp = dest.with_name(f".hearth-restore-{os.getpid()}-{next(_names)}")
        try:
            with open(temp, "wb") as fh:
                fh.writelines(self.repo.read_blob(self._index, bytes.fromhex(c))
                              for c in entry["chunks"])
                size = fh.tell()
            if size != entry["size"]:
                raise Unreadable(f"{size} bytes instead of {entry['size']}")
        except Unreadable as exc:
            temp.unlink(missing_ok=True)
            self._damaged(rel, exc)
            return
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        os.chmod(temp, entry["mode"])
        os.utime(temp, ns=(entry["mtime_ns"], entry["mtime_ns"]))
        os.replace(temp, dest)
        self.report.files += 1
        self.report.bytes += size
        if self._progress is not None:
            self._progress(self.report)

    def _damaged(self, rel: str, exc: Unreadable) -> None:
        logger.error("%s can't be restored: %s", rel, exc)
        self.report.damaged.append(f"{rel}: {exc}")
