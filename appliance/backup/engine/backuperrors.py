"""Errors of the backup engine: each message says what happened and what to do."""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

# What went wrong, as a code the box turns into the owner's language
# (appliance/backup/box/words.py); the English message stays for the `hearth` command and
# the logs.
OTHER, DISK_FULL, READ_ONLY, DISK_GONE, IO_ERROR, DENIED = (
    "other", "disk-full", "read-only", "disk-gone", "io-error", "denied")
WRONG_KEY, KEY_TYPO, LOCKED, DAMAGED, NO_BACKUP = (
    "wrong-key", "key-typo", "locked", "damaged", "no-backup")


class BackupError(Exception):
    """A backup, check or restore can't go on; the message is for the owner."""

    code = OTHER

    def __init__(self, message: str, *, code: str = "", **params: Any) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.params = params  # what the translated message names (counts, paths)


class WrongKey(BackupError):
    """The recovery key given doesn't open the repository (or has a typo)."""

    code = WRONG_KEY


class RepositoryLocked(BackupError):
    """Another backup or prune holds the repository."""

    code = LOCKED


class DiskFull(BackupError):
    """The backup disk is full; what was written so far is consistent."""

    code = DISK_FULL


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
