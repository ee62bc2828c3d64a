"""Errors of the backup engine: each message says what happened and what to do.

A BackupError is a user error (appliance.errors): its code picks the owner's wording
from WORDING, translated where it is shown; `str()` keeps the engine's English text,
which names folders and commands, for the `hearth` command and the logs.
"""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from appliance.errors import UserError
from appliance.i18n import N_

# What went wrong, as a code the box turns into the owner's language
# (appliance/backup/box/words.py); the English message stays for the `hearth` command and
# the logs.
OTHER, DISK_FULL, READ_ONLY, DISK_GONE, IO_ERROR, DENIED = (
    "other", "disk-full", "read-only", "disk-gone", "io-error", "denied")
WRONG_KEY, KEY_TYPO, LOCKED, DAMAGED, NO_BACKUP = (
    "wrong-key", "key-typo", "locked", "damaged", "no-backup")


# Each code, as the owner reads it (byte counts are written in the reader's units by
# appliance/backup/box/words.py). The engine's English text is for `hearth`, not for a page.
WORDING: dict[str, str] = {
    DISK_FULL: N_("The backup disk is full. Your earlier backups are intact. Keep "
                  "fewer backups (under “How many to keep”) or use a bigger disk, "
                  "then back up again."),
    READ_ONLY: N_("The backup disk can be read but not written. Unplug it, check it "
                  "on a computer, then plug it back in."),
    DISK_GONE: N_("The backup disk went away while Hearth was using it: it may have "
                  "been unplugged. Plug it back in and try again."),
    IO_ERROR: N_("The backup disk couldn't be read or written: it may have been "
                 "unplugged, or it may be failing. Plug it back in and try again; if "
                 "it happens again, check every piece of the backups."),
    DENIED: N_("Hearth isn't allowed to write on the backup disk. Format it for "
               "Hearth on a computer, or choose another disk."),
    WRONG_KEY: N_("This recovery key doesn't open the backups on this disk. Check it "
                  "against your emergency kit, or choose another disk."),
    KEY_TYPO: N_("The recovery key has a typo. Compare it with your emergency kit, "
                 "group by group."),
    LOCKED: N_("Another backup task is using the backup disk right now. Wait a few "
               "minutes, then try again."),
    DAMAGED: N_("%(count)d items couldn't be read: they are damaged on the backup "
                "disk. Try an older backup, or check every piece of the backups to "
                "see what is affected."),
    NO_BACKUP: N_("There is no Hearth backup on this disk. Choose the disk that "
                  "holds your backups."),
}
# An error with no wording of its own: the engine's words, said as such.
UNFORESEEN = N_("The backup task stopped: %(detail)s")


class BackupError(UserError):
    """A backup, check or restore can't go on; said to the owner in the words of its code."""

    code = OTHER
    status = 503  # the backup disk or its repository can't serve: not the asker's fault

    def __init__(self, english: str, *, code: str = "", **params: Any) -> None:
        if code:
            self.code = code
        wording = WORDING.get(self.code)
        if wording is None:
            super().__init__(UNFORESEEN, detail=english)
        else:
            super().__init__(wording, **params)  # params: what the wording names (counts)
        self.args = (english,)  # str(): the engine's own words, for `hearth` and the logs

class WrongKey(BackupError):
    """The recovery key given doesn't open the repository (or has a typo)."""

    code = WRONG_KEY
    status = 400


class RepositoryLocked(BackupError):
    """Another backup or prune holds the repository."""

    code = LOCKED


class DiskFull(BackupError):
    """The backup disk is full; what was written so far is consistent."""

    code = DISK_FULL
    status = 507


class Unreadable(Exception):
    """A stored object failed its authentication or can't be parsed (damage on the disk)."""


def explain(exc: OSError, where: Path | str, doing: str) -> BackupError:
    """Return the BackupError that tells the owner what an OSError means here."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(
            f"the disk holding {where} is full ({doing}). The backup repository is still "
            "consistent: what was saved before is intact. Free some space there, or run "
            "`hearth backup prune` to drop old snapshots, then run the backup again")
    if exc.errno == errno.EROFS:
        return BackupError(f"{where} is read-only ({doing}); check that the backup disk is "
                           "mounted for writing", code=READ_ONLY)
    if exc.errno in (errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESTALE):
        return BackupError(f"an input/output error at {where} ({doing}): the disk may have "
                           "been unplugged or be failing. Plug it back in and run `hearth "
                           "backup check`", code=IO_ERROR)
    if exc.errno == errno.ENOENT and not _reachable(where):
        return BackupError(f"{where} is gone ({doing}): its disk may have been unplugged or "
                           "unmounted. Plug it back in and run `hearth backup check`",
                           code=DISK_GONE)
    if exc.errno == errno.EACCES:
        return BackupError(f"permission denied at {where} ({doing}); run as the user that "
                           "owns it (hearth), or fix its permissions", code=DENIED)
    return BackupError(f"{doing} failed at {where}: {exc.strerror or exc}")


def _reachable(where: Path | str) -> bool:
    """Return True when `where` still exists (a folder whose disk went away does not)."""
    try:
        return Path(where).exists()
    except OSError:
        return False
