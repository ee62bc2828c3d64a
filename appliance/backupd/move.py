"""Moving a Hearth: everything of the newest snapshot back onto a fresh box (blocking code)."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from appliance.backup.errors import BackupError, WrongKey
from appliance.backup.restorer import RestoreReport, Restorer
from appliance.backup.repository import Repository
from appliance.backup.snapshot import Snapshot
from appliance.backupd.jobs import Stopper
from appliance.backupd.plan import REPOS
from appliance.backupd.status import Status

SYSTEM = "system"
STORE = "store"


def repositories(root: Path) -> list[Path]:
    """Return the Hearth repositories under a backup disk's root (one per box backed up)."""
    base = root / REPOS
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if (p / "config").is_file())


def open_backup(root: Path, key: str) -> Repository:
    """Return the repository under root that the recovery key opens; WrongKey if none does."""
    found = repositories(root)
    if not found:
        raise BackupError("there is no Hearth backup on this disk")
    wrong: BackupError | None = None
    for path in found:
        try:
            return Repository.open(path, key)
        except WrongKey as exc:
            wrong = exc
    assert wrong is not None
    raise wrong


def _tracker(status: Status, stopper: Stopper, base: RestoreReport
             ) -> Callable[[RestoreReport], None]:
    def progress(report: RestoreReport) -> None:
        status.files_done = base.files + report.files
        status.bytes_done = base.bytes + report.bytes
        stopper.check()
    return progress


def restore_home(repo: Repository, data_dir: Path, system: Path, status: Status,
                 stopper: Stopper) -> Snapshot:
    """Put the newest snapshot's data folder and system folder in place of a fresh box's.

    Only for a box with no owner yet: its empty store is replaced whole (a
    journal of the fresh store must not replay over the old snapshot).
    """
    snapshot = repo.find_snapshot(None)
    index = repo.load_index()
    names = [e["name"] for e in repo.read_tree(index, snapshot.tree)]
    status.files_total = int(snapshot.stats.get("files", 0))
    status.bytes_total = int(snapshot.stats.get("bytes", 0))
    done = RestoreReport()
    damaged: list[str] = []

    def restore(target: Path, paths: list[str]) -> None:
        report = Restorer(repo, snapshot, target,
                          progress=_tracker(status, stopper, done)).run(paths)
        done.files, done.bytes = done.files + report.files, done.bytes + report.bytes
        damaged.extend(report.damaged)
    # The store (the owner) goes last: until then a failed move leaves a box that can try again.
    restore(data_dir, [n for n in names if n not in (SYSTEM, STORE)])
    if SYSTEM in names:
        staging = system.parent / f".hearth-move-{os.getpid()}"
        try:
            restore(staging, [SYSTEM])
            system.mkdir(parents=True, exist_ok=True)
            for child in (staging / SYSTEM).iterdir():
                dest = system / child.name
                if dest.is_dir() and not dest.is_symlink():
                    shutil.rmtree(dest)
                os.replace(child, dest)
            os.chmod(system, 0o700)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if STORE in names:
        shutil.rmtree(data_dir / STORE, ignore_errors=True)
        restore(data_dir, [STORE])
    if damaged:
        raise BackupError(f"{len(damaged)} items couldn't be restored (damaged in the "
                          f"backup): {'; '.join(damaged[:3])}")
    return snapshot
