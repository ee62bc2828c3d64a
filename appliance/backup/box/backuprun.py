"""A backup: a snapshot of the data and system folders, pruning, and a word to the owner."""
from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path
from typing import Any

from appliance.backup.box import backupschedule, words
from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.backupstatus import DONE, Status
from appliance.backup.box.operation import Interrupted, OperationSlot, Stopper
from appliance.backup.box.ownerspeech import OwnerSpeech
from appliance.backup.box.where import WhereError, where_error
from appliance.backup.engine.archiver import DATA_SKIPPED, Archiver, Sources
from appliance.backup.engine.backuperrors import BackupError
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.packer import Stats
from appliance.backup.engine.pruner import Pruner
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.retention import Policy
from appliance.i18n import N_

logger = logging.getLogger(__name__)


async def run_backup(setup: BackupSetup, slot: OperationSlot, speech: OwnerSpeech,
                     trigger: str) -> None:
    """Back up now, keep the outcome in the plan and notify the owner when it ends."""
    started = setup.clock()
    logger.info("backup started (%s)", trigger)
    try:
        repo = await setup.repository()
        system = setup.settings.system
        snapshot, pruned = await asyncio.to_thread(
            back_up, repo, setup.core.data_dir, system if system.is_dir() else None,
            setup.plan.retention(), slot.status, slot.stopper)
    except Interrupted:
        raise
    except (WhereError, BackupError) as exc:
        failed = where_error(exc)
        await _finished(setup, speech, started, ok=False, message=failed.said(speech.say),
                        said=failed.message, params=failed.params)
        raise
    seconds = max(setup.clock() - started, 0.0)
    said, params = done_words(snapshot.stats, seconds, pruned)
    body = words.said(speech.say, said, params, speech.sizes())
    await _finished(setup, speech, started, ok=True, message=body, snapshot=snapshot.short_id,
                    said=said, params=params)
    slot.status.end(DONE, body, said, **params)  # last: "done" is seen with the plan saved


async def _finished(setup: BackupSetup, speech: OwnerSpeech, started: float, *, ok: bool,
                    message: str, snapshot: str = "", said: str = "",
                    params: dict[str, Any] | None = None) -> None:
    now = setup.clock()
    # said and params: the page says it again in the language of whoever looks
    last = {"when": now, "ok": ok, "message": message, "snapshot": snapshot,
            "said": said, "params": params or {}}
    plan = setup.plan.with_(last=last, next_run=backupschedule.next_slot(now))
    if ok:
        plan = plan.with_(last_success=now)
    await setup.save(plan)
    core = setup.core
    if core.available:
        if ok:
            await core.notifications.add("backup.done", N_("Your backup is done"), message)
        else:
            await core.notifications.add(
                "backup.failed", N_("Your backup failed"),
                message + " " + speech.say(N_("Your earlier backups are intact. Open "
                                              "Backups to try again.")))


def done_words(stats: dict[str, Any], seconds: float, pruned: int
               ) -> tuple[str, dict[str, Any]]:
    """Return the message (to translate) and parameters that say how a backup went."""
    params = {"files": stats["files"], "size": int(stats["bytes"]),
              "seconds": max(1, round(seconds)), "new": int(stats["stored_bytes"]),
              "forgot": pruned}
    if pruned:
        return N_("%(files)d files (%(size)s) backed up in %(seconds)d s, %(new)s of it "
                  "new. Older backups removed as planned: %(forgot)d."), params
    return N_("%(files)d files (%(size)s) backed up in %(seconds)d s, %(new)s of it new."
              ), params


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
