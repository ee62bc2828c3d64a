"""The disks udev knows of: the real Disks adapter."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import pyudev

from appliance.platform.disks.model import Disk
from appliance.platform.disks.mountinfo import Mounts, system_disks
from appliance.platform.disks.port import Closeable, EventHandler
from appliance.platform.disks.watcher import UdevWatch

# Block devices that are never a disk someone plugged in: RAM disks, compressed swap,
# device-mapper and RAID volumes, optical and floppy drives, network block devices,
# and the eMMC boot and RPMB areas.
_NEVER = re.compile(r"(ram|zram|dm-|md|sr|fd|nbd|mtdblock)\d|mmcblk\d+(boot\d+|rpmb)$")
_LOOP = re.compile(r"loop\d")


def _natural(disk: Disk) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", disk.device)]


class UdevDisks:
    """The disks udev knows of.

    Listed: whole disks and partitions holding a filesystem, with media in them
    (size > 0). Never listed: RAM disks, zram, device-mapper, RAID, optical and
    floppy drives, eMMC boot areas, the disk the system runs from (the one
    holding /, /boot, /boot/firmware, /usr, /var or swap) unless
    `include_system`, and loop devices unless `include_loop` (the tests' disks).
    """

    def __init__(self, *, include_loop: bool = False, include_system: bool = False,
                 context: Any = None) -> None:
        self.include_loop = include_loop
        self.include_system = include_system
        self._context = context

    @property
    def context(self) -> Any:
        """Return the pyudev context, made on first use (not at construction)."""
        if self._context is None:
            self._context = pyudev.Context()
        return self._context

    def list(self) -> list[Disk]:
        """Return the disks plugged in now, in device order."""
        mounts = Mounts.read()
        system = frozenset() if self.include_system else system_disks(mounts)
        found = (self.disk_of(device, mounts, system)
                 for device in self.context.list_devices(subsystem="block"))
        return sorted((disk for disk in found if disk is not None), key=_natural)

    def disk_now(self, device: Any) -> Disk | None:
        """Return the Disk for a udev block device as mounted now, or None (see disk_of)."""
        mounts = Mounts.read()
        system = frozenset() if self.include_system else system_disks(mounts)
        return self.disk_of(device, mounts, system)

    def disk_of(self, device: Any, mounts: Mounts, system: frozenset[str]) -> Disk | None:
        """Return the Disk for a udev block device, or None when it is not one we list."""
        if device.device_type not in ("disk", "partition") or not device.device_node:
            return None
        whole = device if device.device_type == "disk" else device.find_parent("block", "disk")
        name = whole.sys_name if whole is not None else ""
        if (not name or _NEVER.match(name) or name in system
                or (_LOOP.match(name) and not self.include_loop)):
            return None
        try:
            disk = Disk.from_udev(device, mounts=mounts)
        except (KeyError, ValueError, AttributeError):  # gone while we looked at it
            return None
        if disk.size == 0 or (disk.kind == "partition" and not disk.fstype):
            return None  # no medium, or a partition udev has not probed (or that holds nothing)
        return disk

    def watch(self, on_event: EventHandler) -> Closeable:
        """Report disk events to `on_event` on the running loop, from a monitor thread."""
        return UdevWatch(self, on_event, asyncio.get_running_loop())
