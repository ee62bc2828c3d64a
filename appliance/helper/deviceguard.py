"""Which block devices the helper may touch, found by UUID or by a checked device name."""
from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path
from typing import Any

import pyudev

from appliance.helper.commands import run
from appliance.helper.errors import Refused
from appliance.platform.disks import Disk, Mounts, system_disks

logger = logging.getLogger(__name__)

_DEVICE = re.compile(r"/dev/[A-Za-z0-9_-]{1,64}")
_UUID = re.compile(r"[0-9A-Fa-f]{4,32}(-[0-9A-Fa-f]{2,16}){0,4}")
_USB_ONLY = "Hearth only touches USB disks"


def checked_uuid(uuid: object) -> str:
    """Return `uuid` when it looks like a filesystem UUID; refuse anything else."""
    if not isinstance(uuid, str) or len(uuid) > 36 or not _UUID.fullmatch(uuid):
        raise Refused(f"{uuid!r} is not a filesystem UUID (like 2F3A-91C0 or "
                      f"0b7c5e2e-…); use the UUID Hearth lists for the disk")
    return uuid


def checked_device(path: object) -> str:
    """Return `path` when it is a plain device name under /dev; refuse anything else."""
    if not isinstance(path, str) or not _DEVICE.fullmatch(path):
        raise Refused(f"{path!r} is not a disk device name like /dev/sdb or /dev/sdb1; "
                      f"use the device Hearth lists for the disk")
    return path


class DeviceGuard:
    """Find block devices for the helper and refuse those it must not touch.

    Allowed: disks udev reports as removable or on USB, and their partitions, but
    never the disk the system runs from. Loop devices only with `loop_images` (for
    tests), and only those whose backing file lies in that folder, so that a test
    never touches a loop device someone else set up. The system disk is found from
    the mount and swap tables under `proc` and the device links under `sysfs`.
    """

    def __init__(self, *, loop_images: Path | None = None, context: Any = None,
                 proc: Path = Path("/proc"), sysfs: Path = Path("/sys")) -> None:
        self.loop_images = loop_images
        self.context = context if context is not None else pyudev.Context()
        self.proc = proc
        self.sysfs = sysfs

    def by_device(self, path: object) -> Any:
        """Return the udev device named `path`, once checked and allowed."""
        name = checked_device(path)
        try:
            status = os.stat(name)
        except FileNotFoundError:
            raise Refused(f"there is no disk {name}: it may have been unplugged; "
                          f"plug it in again and reload the page") from None
        if not stat.S_ISBLK(status.st_mode):
            raise Refused(f"{name} is not a disk; {_USB_ONLY}")
        device = pyudev.Devices.from_device_number(self.context, "block", status.st_rdev)
        self.allow(device)
        return device

    async def by_uuid(self, uuid: object) -> tuple[Any, str]:
        """Return the allowed udev device holding filesystem `uuid`, and its filesystem type."""
        wanted = checked_uuid(uuid)
        nodes = sorted({device.device_node for device in self.context.list_devices(
            subsystem="block", ID_FS_UUID=wanted) if device.device_node})
        if not nodes:  # udev may not have probed it yet (just formatted, or udevd is down)
            found = await run("blkid", "-U", wanted, timeout=30)
            nodes = [found.stdout.strip()] if found.ok and found.stdout.strip() else []
        if len(nodes) > 1:
            raise Refused(f"{len(nodes)} disks carry the filesystem UUID {wanted} "
                          f"({', '.join(nodes)}): Hearth can't tell them apart; "
                          f"unplug all but one")
        fields = await self.probe(nodes[0]) if nodes else {}
        if fields.get("UUID") != wanted:  # udev's record is stale: the disk changed since
            raise Refused(f"no disk with the filesystem UUID {wanted} is plugged in: "
                          f"plug it in, wait a few seconds, and try again")
        return self.by_device(nodes[0]), fields.get("TYPE", "")

    async def probe(self, node: str) -> dict[str, str]:
        """Return what blkid reads on the device now (UUID, TYPE, LABEL…), bypassing caches."""
        found = await run("blkid", "-p", "-o", "export", node, timeout=30)
        pairs = (line.partition("=") for line in found.stdout.splitlines())
        return {key: value for key, _, value in pairs if key}

    def allow(self, device: Any) -> None:
        """Refuse unless the helper may touch `device`."""
        node, whole = device.device_node, self.disk_of(device)
        if whole is None or device.device_type not in ("disk", "partition"):
            raise Refused(f"{node} is not a disk; {_USB_ONLY}")
        if whole.sys_name.startswith("loop"):
            self._allow_loop(node, whole)
        else:
            disk = Disk.from_udev(whole, mounts=Mounts())
            if not (disk.usb or disk.removable):
                raise Refused(f"{node} is not a removable disk; {_USB_ONLY}")
        mounts = Mounts.read(str(self.proc / "self/mountinfo"), self.sysfs)
        if whole.sys_name in system_disks(mounts, str(self.proc / "swaps"), self.sysfs):
            raise Refused(f"{node} is on the disk Hearth runs from; Hearth never changes "
                          f"its own system disk")

    def _allow_loop(self, node: str, whole: Any) -> None:
        if self.loop_images is None:
            raise Refused(f"{node} is a loop device, not a USB disk; {_USB_ONLY}")
        try:
            image = Path(Path(whole.sys_path, "loop", "backing_file").read_text().strip())
        except OSError:
            image = Path("/nonexistent")
        if not image.is_relative_to(self.loop_images):
            raise Refused(f"{node} is a loop device whose image {image} is not in "
                          f"{self.loop_images}; the helper leaves it alone")

    @staticmethod
    def disk_of(device: Any) -> Any:
        """Return the whole disk a device belongs to (itself when it is one)."""
        if device.device_type == "disk":
            return device
        return device.find_parent("block", "disk")

    def partitions(self, disk: Any) -> list[Any]:
        """Return the partitions of a whole disk."""
        return [child for child in self.context.list_devices(subsystem="block",
                                                             DEVTYPE="partition")
                if child.find_parent("block", "disk") == disk]

    @staticmethod
    def size(device: Any) -> int:
        """Return the size of a block device in bytes."""
        return int(device.attributes.asint("size")) * 512
