"""Reading the backups for the pages: the snapshots, and the Drive folders of one."""
from __future__ import annotations

import asyncio

from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.where import WhereError
from appliance.backup.engine import backuptree
from appliance.backup.engine.backuperrors import DAMAGED, BackupError, Unreadable
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.restorer import find
from appliance.i18n import N_


async def snapshots(setup: BackupSetup) -> list[Snapshot]:
    """Return the snapshots, newest first."""
    repo = await setup.reader()
    return list(reversed(await asyncio.to_thread(repo.snapshots)))


async def listing(setup: BackupSetup, snapshot_id: str, path: str
                  ) -> tuple[Snapshot, list[backuptree.Entry]]:
    """Return a snapshot and the entries of one of its Drive folders ("" is the Drive)."""
    repo = await setup.reader()

    def read() -> tuple[Snapshot, list[backuptree.Entry]]:
        snapshot = repo.find_snapshot(snapshot_id)
        index = repo.load_index()
        entry = find(repo, index, snapshot, in_drive(path))
        if entry["type"] != backuptree.DIR:
            raise WhereError(N_("That is a file, not a folder."), status=404)
        try:
            return snapshot, repo.read_tree(index, entry["tree"])
        finally:
            repo.close()
    try:
        return await asyncio.to_thread(read)
    except Unreadable as exc:  # damaged, or a prune is under way
        raise WhereError.of(BackupError(str(exc), code=DAMAGED, count=1)) from None
    except BackupError as exc:
        raise WhereError.of(exc) from None


def in_drive(path: str) -> str:
    """Return a Drive path as a path of the snapshot (under files/), refusing escapes."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise WhereError(N_("That path is not in the Drive."))
    return "/".join(["files", *parts])
