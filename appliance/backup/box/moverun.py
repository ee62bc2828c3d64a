"""Moving a Hearth: everything of the newest snapshot back onto a fresh box."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from appliance.backup.box.backupplan import REPOS
from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.backupstatus import DONE, Status
from appliance.backup.box.operation import OperationSlot, Stopper
from appliance.backup.box.where import WhereError
from appliance.backup.engine import recovery
from appliance.backup.engine.backuperrors import (DAMAGED, DISK_GONE, NO_BACKUP, BackupError,
                                                  WrongKey, explain)
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import RestoreReport, Restorer
from appliance.i18n import N_

logger = logging.getLogger(__name__)
SYSTEM = "system"
STORE = "store"
MOVING_IN = N_("Hearth is bringing your data back from its backup. The box carries on by "
               "itself when it is done.")


async def find_backup(root: Path, typed_key: str) -> Repository:
    """Return the repository under root that a recovery key (as typed) opens."""
    try:
        return await asyncio.to_thread(open_backup, root, recovery.parse(typed_key))
    except BackupError as exc:
        raise WhereError.of(exc) from None


async def run_move(setup: BackupSetup, slot: OperationSlot, repo: Repository) -> None:
    """Restore everything of the newest snapshot onto this fresh box, then carry on."""
    core = setup.core
    data_dir = core.data_dir
    await core.detach(MOVING_IN, readable=True)
    try:
        snapshot = await asyncio.to_thread(restore_home, repo, data_dir,
                                           setup.settings.system, slot.status, slot.stopper)
    finally:
        await core.attach(data_dir)
        await setup.load()
    logger.info("this box now holds the Hearth of snapshot %s (%s)", snapshot.short_id,
                snapshot.host)
    slot.status.end(DONE, snapshot.when)
    await core.notifications.add("backup.moved", N_("Your Hearth moved to this box"),
                                 snapshot.when)


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
        raise BackupError("there is no Hearth backup on this disk", code=NO_BACKUP)
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

    Only for a box with no owner yet. Everything is restored aside first (beside
    the data folder and beside the system folder, on their own disks) and put in
    place only once all of it came back: a move that fails — wrong disk, disk
    pulled out, damage — leaves the fresh box as it was, ready to try again.
    """
    snapshot = repo.find_snapshot(None)
    index = repo.load_index()
    names = [e["name"] for e in repo.read_tree(index, snapshot.tree)]
    status.files_total = int(snapshot.stats.get("files", 0))
    status.bytes_total = int(snapshot.stats.get("bytes", 0))
    done = RestoreReport()
    damaged: list[str] = []

    def restore(target: Path, paths: list[str]) -> None:
        try:
            report = Restorer(repo, snapshot, target,
                              progress=_tracker(status, stopper, done)).run(paths)
        except OSError as exc:  # reading the backup disk (the target's errors are explained)
            raise explain(exc, repo.path, "moving") from None
        done.files, done.bytes = done.files + report.files, done.bytes + report.bytes
        damaged.extend(report.damaged)
    aside = data_dir / "tmp" / f"move-{os.getpid()}"
    system_aside = system.parent / f".hearth-move-{os.getpid()}"
    # A move cut short by a crash or a power cut left its folders aside: one move runs
    # at a time, so whatever is there now is such a leftover.
    for leftover in [*data_dir.glob("tmp/move-*"), *system.parent.glob(".hearth-move-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        data_names = [n for n in names if n != SYSTEM]
        restore(aside, data_names)
        if SYSTEM in names:
            restore(system_aside, [SYSTEM])
        if damaged:
            if not repo.path.is_dir():  # its packs went with it: the disk, not the data
                raise BackupError(f"{repo.path} is gone (moving): its disk may have been "
                                  "unplugged", code=DISK_GONE)
            raise BackupError(f"{len(damaged)} items couldn't be restored (damaged in the "
                              f"backup): {'; '.join(damaged[:3])}", code=DAMAGED,
                              count=len(damaged))
        stopper.check()
        if SYSTEM in names:
            system.mkdir(parents=True, exist_ok=True)
            _put(system_aside / SYSTEM, system, sorted(os.listdir(system_aside / SYSTEM)))
            os.chmod(system, 0o700)
        # The store (the owner) goes last: the box counts as moved once it is there.
        _put(aside, data_dir, sorted(data_names, key=lambda n: n == STORE))
    finally:
        shutil.rmtree(aside, ignore_errors=True)
        shutil.rmtree(system_aside, ignore_errors=True)
    return snapshot


def _put(source: Path, dest: Path, names: list[str]) -> None:
    """Move restored entries into place, replacing the fresh box's (same filesystem)."""
    for name in names:
        target = dest / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(source / name, target)
