"""Checking the backups: their structure, or every piece; what damage means for the owner."""
from __future__ import annotations

import asyncio
import logging

from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.backupstatus import DONE, FAILED, Status
from appliance.backup.box.operation import OperationSlot, Stopper
from appliance.backup.box.ownerspeech import OwnerSpeech
from appliance.backup.engine.checker import CheckReport, Checker
from appliance.backup.engine.repository import Repository
from appliance.i18n import N_

logger = logging.getLogger(__name__)


async def run_check(setup: BackupSetup, slot: OperationSlot, speech: OwnerSpeech,
                    every: bool) -> None:
    """Check the backups (with `every`, read every piece) and say what was found."""
    repo = await setup.repository()
    report = await asyncio.to_thread(check, repo, slot.status, slot.stopper, read_data=every)
    if report.ok:
        slot.status.end(DONE, speech.say(N_("No damage found in %(n)d backups."),
                                         n=report.snapshots))
        return
    logger.error("check found damage: %s", "; ".join(report.damage[:20]))
    if not report.hurt:
        slot.status.end(FAILED, speech.say(N_(
            "Some damage was found on the backup disk, but every file of your backups "
            "can still be brought back. If it happens again, the disk may be failing: "
            "replace it.")))
        return
    slot.status.end(FAILED, speech.say(N_(
        "Some pieces on the backup disk are damaged. These can't be brought back from "
        "those backups: %(what)s. The files on the box itself are not affected. Newer "
        "backups reuse the same pieces while those files stay unchanged, so keep a copy "
        "of them elsewhere, and replace the backup disk if this happens again."),
        what=" ; ".join(hurt_words(speech, report.hurt))))


def hurt_words(speech: OwnerSpeech, hurt: list[tuple[float, str]]) -> list[str]:
    """Return "backup of <date>: file, file…" for each backup with damaged files."""
    by_backup: dict[float, list[str]] = {}
    for when, path in hurt:
        named = path_words(speech, path)
        if named not in by_backup.setdefault(when, []):
            by_backup[when].append(named)
    lines = []
    for when in sorted(by_backup, reverse=True):
        paths = by_backup[when]
        more = speech.say(N_(" and %(n)d more"), n=len(paths) - 5) if len(paths) > 5 else ""
        lines.append(speech.say(N_("the backup of %(when)s: %(paths)s"),
                                when=speech.date(when), paths=", ".join(paths[:5]) + more))
    return lines


def path_words(speech: OwnerSpeech, path: str) -> str:
    """Return a path of a snapshot as the owner knows it (a Drive path, documents…)."""
    top, _, rest = path.partition("/")
    if top == "files" and rest:
        return rest
    if top == "files":
        return speech.say(N_("all of the Drive"))
    if top == "store":
        return speech.say(N_("documents (notes, bills, bookmarks…)"))
    if top == "system":
        return speech.say(N_("the box's settings"))
    return speech.say(N_("everything"))


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
