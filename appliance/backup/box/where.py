"""Finding the repository: mount the chosen backup disk (through the helper) or use a folder."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from appliance.backup.box.backupplan import DISK, REPOS, Target
from appliance.backup.engine.backuperrors import BackupError
from appliance.datadisk.choice import SUPPORTED  # what the helper mounts
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.platform import Platform
from appliance.platform.disks import Disk
from appliance.platform.helper_client import HelperError

NOT_PLUGGED = N_("The backup disk is not plugged in. Plug it in: the backup starts by itself.")
NO_HELPER = N_("This box can't mount the backup disk (it runs without its disk helper).")


class WhereError(UserError):
    """The backup disk or folder can't be reached; the message (to translate) is for the owner."""

    status = 503

    @classmethod
    def of(cls, exc: BackupError) -> WhereError:
        """Return the owner's words for an engine error."""
        return cls(exc.message, status=exc.status, **exc.params)


def where_error(exc: WhereError | BackupError) -> WhereError:
    """Return an error in the owner's words (a WhereError already is)."""
    return exc if isinstance(exc, WhereError) else WhereError.of(exc)


def instance_id(data_dir: Path) -> str:
    """Return the box's instance id (from the data folder's disk.json; blocking)."""
    return str(json.loads((data_dir / "disk.json").read_text())["instance"])


def usable(disk: Disk, data_uuid: str | None) -> bool:
    """Tell whether a disk can hold backups (a filesystem Hearth mounts, not the data disk)."""
    return bool(disk.uuid) and disk.fstype in SUPPORTED and disk.uuid != data_uuid


async def mount_of(platform: Platform, disk: Disk) -> Path:
    """Return where a disk is mounted, mounting it through the privileged helper if needed."""
    if disk.mountpoint:
        return Path(disk.mountpoint)
    if platform.helper is None:
        raise WhereError(NO_HELPER)
    try:
        return await platform.helper.mount(disk.uuid)
    except HelperError as exc:
        raise WhereError(str(exc)) from None


async def root_of(platform: Platform, target: Target) -> Path:
    """Return the folder holding `hearth-backups/` for a target, mounting its disk."""
    if target.kind != DISK:
        return Path(target.path)
    disks = await asyncio.to_thread(platform.disks.list)
    disk = next((d for d in disks if d.uuid == target.uuid), None)
    if disk is None:
        raise WhereError(NOT_PLUGGED)
    return await mount_of(platform, disk)


def repo_path(root: Path, instance: str) -> Path:
    """Return the repository of one box under a backup disk's (or folder's) root."""
    return root / REPOS / instance
