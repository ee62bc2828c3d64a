"""Restoring a file or folder of the Drive from a snapshot into a new Drive folder."""
from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.backupstatus import DONE, Status
from appliance.backup.box.operation import OperationSlot, Stopper
from appliance.backup.box.ownerspeech import OwnerSpeech
from appliance.backup.box.snapshotreading import in_drive
from appliance.backup.engine import backuptree
from appliance.backup.engine.backuperrors import DAMAGED, BackupError
from appliance.backup.engine.index import ChunkIndex
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import RestoreReport, Restorer, find
from appliance.i18n import N_

_staging = itertools.count()


async def run_restore(setup: BackupSetup, slot: OperationSlot, speech: OwnerSpeech,
                      snapshot_id: str, path: str) -> None:
    """Restore a Drive path of a snapshot into a new Drive folder, and say where."""
    repo = await setup.repository()
    data_dir = setup.core.data_dir
    where = await asyncio.to_thread(restore_into, repo, snapshot_id, in_drive(path),
                                    data_dir, slot.status, slot.stopper,
                                    speech.say(N_("Restored")))
    await setup.core.files.rescan()
    said = N_("Brought back into the Drive: %(where)s")
    slot.status.end(DONE, speech.say(said, where=where), said, where=where)


def _size_of(repo: Repository, index: ChunkIndex, entry: backuptree.Entry) -> tuple[int, int]:
    if entry["type"] == backuptree.FILE:
        return 1, int(entry["size"])
    if entry["type"] != backuptree.DIR:
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
                              "in the backup); try an older snapshot", code=DAMAGED,
                              count=len(report.damaged))
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
