"""Mounting filesystems at <mount root>/<uuid> so the daemon's user can read and write them."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.helper.commands import require, run
from appliance.helper.errors import Refused
from appliance.platform.disks import FS_NAMES, Mounts

logger = logging.getLogger(__name__)

# Whatever is on a USB disk is data: never device nodes, set-uid programs or executables.
FLAGS = "noatime,nodev,nosuid,noexec"


@dataclass(frozen=True)
class Mounter:
    """Mount and unmount filesystems under `root`, owned by the daemon's uid and gid."""

    root: Path
    uid: int
    gid: int

    def check_root(self) -> None:
        """Refuse a mount root others could write to: they could swap a folder for a link."""
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        status = self.root.lstat()
        if self.root.is_symlink() or status.st_uid != 0 or status.st_mode & 0o022:
            raise Refused(f"{self.root} must be a folder owned by root that only root can "
                          f"write to (chown root: {self.root}; chmod 755 {self.root})")

    def target(self, uuid: str) -> Path:
        """Return the stable path where the filesystem `uuid` is mounted."""
        return self.root / uuid

    def argv(self, fstype: str, node: str, target: Path) -> tuple[str, list[str]]:
        """Return the tool and arguments that mount `node` of type `fstype` at `target`."""
        owner = f"uid={self.uid},gid={self.gid},umask=0077"
        if fstype in ("ext4", "ext3", "ext2"):
            return "mount", ["-t", fstype, "-o", FLAGS, node, str(target)]
        if fstype == "vfat":  # Linux has a FAT driver; FUSE is only for exFAT and NTFS
            return "mount", ["-t", "vfat", "-o", f"{FLAGS},{owner},flush", node, str(target)]
        if fstype == "exfat":
            return "mount.exfat-fuse", ["-o", f"{FLAGS},{owner}", node, str(target)]
        if fstype == "ntfs":
            return "ntfs-3g", ["-o", f"{FLAGS},{owner}", node, str(target)]
        kind = FS_NAMES.get(fstype, fstype) or "no filesystem Hearth can read"
        raise Refused(f"{node} holds {kind}; Hearth can use ext4, exFAT, NTFS and FAT disks: "
                      f"copy what you need off it, then format it for Hearth")

    async def mount(self, device: Any, fstype: str, uuid: str) -> Path:
        """Mount `device` at its stable path and return the path; do nothing if it is there."""
        node, target = device.device_node, self.target(uuid)
        current = Mounts.read().at(str(target))
        if current is not None:
            if current.devnum == device.device_number:
                return target
            raise Refused(f"{current.source} is already mounted at {target}; "
                          f"unmount it first")
        tool, args = self.argv(fstype, node, target)
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        target.mkdir(mode=0o755, exist_ok=True)
        if target.is_symlink() or not target.is_dir():  # never mount where a link points
            raise Refused(f"{target} is not a plain folder; remove it and try again")
        outcome = await run(tool, *args, timeout=120)
        if not outcome.ok:
            _remove_dir(target)
            raise Refused(f"could not mount {node} ({FS_NAMES.get(fstype, fstype)}): "
                          f"{outcome.why()}. Check the disk, then try again")
        # FUSE drivers ignore some flags (exfat-fuse drops noexec and noatime): enforce
        # them on the mount itself, whatever the driver did.
        await require("mount", "-o", f"remount,bind,{FLAGS}", str(target),
                      doing=f"restrict {target} to {FLAGS}")
        logger.info("mounted %s (%s) at %s", node, fstype, target)
        return target

    async def unmount(self, uuid: str) -> bool:
        """Flush and unmount the filesystem `uuid`; return False when it was not mounted."""
        target = self.target(uuid)
        if Mounts.read().at(str(target)) is None:
            _remove_dir(target)
            return False
        await self.release(str(target))
        return True

    async def release(self, target: str) -> None:
        """Flush what is written to the filesystem at `target`, unmount it, remove our folder."""
        await run("sync", "-f", target, timeout=600)
        outcome = await run("umount", target, timeout=600)
        if not outcome.ok:
            raise Refused(f"could not unmount {target}: {outcome.why()}. If a program still "
                          f"has files open on it, close them and try again")
        logger.info("unmounted %s", target)
        if Path(target).parent == self.root:
            _remove_dir(Path(target))


def _remove_dir(path: Path) -> None:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("left %s in place: %s", path, exc)
