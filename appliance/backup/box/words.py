"""What the engine's errors mean for the owner: a code and its parameters, in plain words."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.backup.engine.backuperrors import (DAMAGED, DENIED, DISK_FULL, DISK_GONE,
                                                  IO_ERROR, KEY_TYPO, LOCKED, NO_BACKUP,
                                                  READ_ONLY, WRONG_KEY, BackupError)
from appliance.i18n import N_

# Each code the engine gives an error (engine/backuperrors.py), as the owner reads it.
# The engine's English text names folders and commands: right for `hearth`, not for a page.
MESSAGES: dict[str, str] = {
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
OTHER = N_("The backup task stopped: %(detail)s")


def words_for(exc: BackupError) -> tuple[str, dict[str, Any]]:
    """Return the message to translate for an engine error, and its parameters."""
    message = MESSAGES.get(exc.code)
    if message is None:
        return OTHER, {"detail": str(exc)}  # unforeseen: the engine's words, said as such
    return message, dict(exc.params)


SIZES = ("size", "new")  # parameters that count bytes: written in the reader's units


def said(translate: Callable[..., str], message: str, params: dict[str, Any],
         size: Callable[[int], str]) -> str:
    """Return a message in the language of `translate`, its byte counts in `size`'s units."""
    return translate(message, **{k: size(v) if k in SIZES and isinstance(v, int) else v
                                 for k, v in params.items()})
