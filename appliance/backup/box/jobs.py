"""The blocking engine work behind each operation, reporting progress (run in a thread)."""
from __future__ import annotations

import itertools
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.archiver import DATA_SKIPPED, Archiver, Sources
from appliance.backup.engine.checker import CheckReport, Checker
from appliance.backup.engine.backuperrors import BackupError
from appliance.backup.engine.index import ChunkIndex
from appliance.backup.engine.packer import Stats
from appliance.backup.engine.pruner import Pruner
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import RestoreReport, Restorer, find
from appliance.backup.engine.retention import Policy
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.box.backupstatus import Status

_staging = itertools.count()


class Interrupted(BackupError):
    """The daemon is stopping: the operation was cut short (the next run completes it)."""


@dataclass(frozen=True)
class Stopper:
    """Raises Interrupted from a progress callback once the daemon asks to stop."""

    event: Event

    def check(self) -> None:
        """Raise Interrupted if a stop was asked for."""
        if self.event.is_set():
            raise Interrupted("the box is stopping")


def measure(data: Path) -> tuple[int, int]:
    """Return how many files and bytes a backup of the data folder reads (for the bar)."""
    files = size = 0
    for top in sorted(os.listdir(data)):
        if top in DATA_SKIPPED:
            continue
        path = data / top
        if path.is_file():
            files, size = files + 1, size + path.stat().st_size
            continue
        for folder, _dirs, names in os.walk(path):
            for name in names:
                try:
                    st = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    files, size = files + 1, size + st.st_size
    return files, size


def back_up(repo: Repository, data: Path, system: Path | None, policy: Policy,
            status: Status, stopper: Stopper) -> tuple[Snapshot, int]:
    """Make a snapshot, then prune by policy; return it and how many snapshots were forgotten."""
    status.files_total, status.bytes_total = measure(data)

    def progress(stats: Stats) -> None:
        status.files_done, status.bytes_done = stats.files, stats.bytes
        stopper.check()
    snapshot = Archiver(repo, Sources(data, system), progress=progress).run()
    status.files_done, status.bytes_done = snapshot.stats["files"], snapshot.stats["bytes"]
    status.files_total = max(status.files_total, status.files_done)
    status.bytes_total = max(status.bytes_total, status.bytes_done)
    report = Pruner(repo, policy).run()
    return snapshot, len(report.forgotten)


def _size_of(repo: Repository, index: ChunkIndex, entry: trees.Entry) -> tuple[int, int]:
    if entry["type"] == trees.FILE:
        return 1, int(entry["size"])
    if entry["type"] != trees.DIR:
        return 0, 0
    files = size = 0
    for child in repo.read_tree(index, entry["tree"]):
        f, s = _size_of(repo, index, child)
        files, size = files + f, size + s
    return files, size


def _tracker(status: Status, stopper: Stopper) -> Callable[[RestoreReport], None]:
    def progress(report: RestoreReport) -> None:
        status.files_done, status.bytes_done = report.files, report.bytes
        stopper.check()
    return progress


def restore_into(repo: Repository, snapshot_id: str, path: str, data_dir: Path,
                 status: Status, stopper: Stopper, label: str = "Restored") -> str:
    """Restore `path` (files/…) of a snapshot into a new "<label> <date>" Drive folder.

    It is restored aside (data_dir/tmp, same disk) and renamed in whole, so the
    Drive never shows half a file; an existing folder of that name is never
    overwritten. Return the Drive path of what was restored.
    """
    snapshot = repo.find_snapshot(snapshot_id)
    index = repo.load_index()
    entry = find(repo, index, snapshot, path)
    status.files_total, status.bytes_total = _size_of(repo, index, entry)
    staging = data_dir / "tmp" / f"restore-{os.getpid()}-{next(_staging)}"
    try:
        report = Restorer(repo, snapshot, staging,
                          progress=_tracker(status, stopper)).run([path])
        if report.damaged:
            raise BackupError(f"{len(report.damaged)} items couldn't be restored (damaged "
                              "in the backup); try an older snapshot")
        stamp = time.strftime("%Y-%m-%d %H.%M", time.localtime(snapshot.time))
        folder = unused(data_dir / "files", f"{label} {stamp}")
        folder.mkdir(parents=True)
        name = path.rsplit("/", 1)[-1]
        os.rename(staging / path, folder / name)
        status.files_done, status.bytes_done = report.files, report.bytes
        return f"/{folder.name}/{name}"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unused(folder: Path, name: str) -> Path:
    """Return folder/name, or folder/"name (2)"… if taken: a restore never overwrites."""
    candidate, n = folder / name, 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{name} ({n})"
    return candidate


def check(repo: Repository, status: Status, stopper: Stopper, *,
          read_data: bool = False) -> CheckReport:
    """Check the repository's structure and, with read_data, every piece of every pack."""
    if read_data:
        sizes = [p.stat().st_size for p in (repo.path / "packs").glob("*/*") if p.is_file()]
        status.files_total, status.bytes_total = len(sizes), sum(sizes)

    def progress(report: CheckReport) -> None:
        status.files_done, status.bytes_done = report.packs, report.bytes_read
        stopper.check()
    return Checker(repo, read_data=read_data, progress=progress).run()
