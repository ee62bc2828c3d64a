"""The helper's fixed verbs: mount, unmount, check, format and power_off, with their arguments."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from appliance.helper.commands import ToolResult, require, run
from appliance.helper.errors import Refused
from appliance.helper.deviceguard import DeviceGuard, checked_uuid
from appliance.helper.mounter import Mounter
from appliance.i18n import size_words
from appliance.platform.disks import Disk, Mounts

logger = logging.getLogger(__name__)

Answer = dict[str, object]
# verb -> its arguments and their types; a request must give exactly these.
SIGNATURES: dict[str, dict[str, type]] = {
    "mount": {"uuid": str},
    "unmount": {"uuid": str},
    "check": {"uuid": str},
    "format": {"device": str, "label": str, "expected_size": int},
    "power_off": {"device": str},
}
_KINDS = {str: "a string", int: "a whole number"}
_LABEL = re.compile(r"[A-Za-z0-9 _.-]{0,16}")
# Filesystem type -> the checker and its repair-what-is-safe flag (ntfsfix only looks:
# NTFS repairs belong to Windows' chkdsk).
CHECKERS = {"ext4": ("e2fsck", "-p"), "ext3": ("e2fsck", "-p"), "ext2": ("e2fsck", "-p"),
            "exfat": ("fsck.exfat", "-p"), "vfat": ("fsck.fat", "-a"), "ntfs": ("ntfsfix", "-n")}


def checked_request(verb: object, arguments: Mapping[str, object]) -> tuple[str, dict[str, Any]]:
    """Return a request's verb and arguments when the verb is known and they fit it."""
    if not isinstance(verb, str) or verb not in SIGNATURES:
        raise Refused(f"unknown verb {verb!r}; the helper knows {', '.join(SIGNATURES)}")
    signature = SIGNATURES[verb]
    if set(arguments) != set(signature):
        raise Refused(f"{verb} takes {', '.join(signature)}; got {', '.join(arguments) or 'none'}")
    for name, kind in signature.items():
        value = arguments[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise Refused(f"{verb}: {name} must be {_KINDS[kind]}, not {value!r}")
    return verb, dict(arguments)


class Verbs:
    """What the helper does for the daemon, one verb at a time."""

    def __init__(self, guard: DeviceGuard, mounter: Mounter) -> None:
        self.guard, self.mounter = guard, mounter
        self._lock = asyncio.Lock()  # one disk operation at a time: no mount during a format

    async def answer(self, verb: object, arguments: Mapping[str, object]) -> Answer:
        """Do `verb` with `arguments` once checked, and return its answer; or raise Refused."""
        name, checked = checked_request(verb, arguments)
        handler: Callable[..., Awaitable[Answer]] = getattr(self, name)
        async with self._lock:
            return await handler(**checked)

    async def mount(self, uuid: str) -> Answer:
        """Mount the filesystem `uuid` at <mount root>/<uuid>; answer the path."""
        device, fstype = await self.guard.by_uuid(uuid)
        return {"path": str(await self.mounter.mount(device, fstype, uuid))}

    async def unmount(self, uuid: str) -> Answer:
        """Flush and unmount the filesystem `uuid` if Hearth mounted it."""
        return {"was_mounted": await self.mounter.unmount(checked_uuid(uuid))}

    async def check(self, uuid: str) -> Answer:
        """Check (and repair where safe) the unmounted filesystem `uuid`; answer in words."""
        device, fstype = await self.guard.by_uuid(uuid)
        node = device.device_node
        self._refuse_mounted([device], "check")
        if fstype not in CHECKERS:
            raise Refused(f"Hearth can't check {node}: it only checks ext4, exFAT, NTFS and "
                          f"FAT disks")
        tool, flag = CHECKERS[fstype]
        outcome = await run(tool, flag, node, timeout=4 * 3600)
        state, message = _verdict(outcome, fstype, node)
        logger.info("checked %s (%s): %s", node, fstype, state)
        return {"state": state, "message": message}

    async def format(self, device: str, label: str, expected_size: int) -> Answer:
        """Make an ext4 filesystem on an unmounted disk whose size the user confirmed."""
        target = self.guard.by_device(device)
        if not _LABEL.fullmatch(label):
            raise Refused(f"{label!r} can't be a disk label: use up to 16 letters, digits, "
                          f"spaces, dots, dashes or underscores")
        size = self.guard.size(target)
        if expected_size != size:
            raise Refused(f"{device} holds {size} bytes ({size_words(size)}), not the "
                          f"{expected_size} bytes you confirmed: it is not the disk you chose. "
                          f"Nothing was changed; reload the page and choose again")
        whole = target.device_type == "disk"
        self._refuse_mounted([target, *(self.guard.partitions(target) if whole else [])],
                             "format")
        node = await self._partition(device) if whole else device
        uid, gid = self.mounter.uid, self.mounter.gid
        await require("mkfs.ext4", "-F", "-q", "-m", "0", "-L", label,
                      "-E", f"root_owner={uid}:{gid}", node, timeout=1800,
                      doing=f"format {node}")
        uuid = (await self.guard.probe(node)).get("UUID", "")
        logger.info("formatted %s as ext4, label %r, uuid %s", node, label, uuid)
        return {"device": node, "uuid": uuid}

    async def power_off(self, device: str) -> Answer:
        """Unmount every filesystem of the disk, flush it, and power it off to be unplugged."""
        whole = self.guard.disk_of(self.guard.by_device(device))
        node, disk = whole.device_node, Disk.from_udev(whole, mounts=Mounts())
        mounts = Mounts.read()
        for part in [*self.guard.partitions(whole), whole]:
            for target in mounts.targets(part.device_number):
                await self.mounter.release(target)
        await require("blockdev", "--flushbufs", node, doing=f"flush {node}")
        if whole.sys_name.startswith("loop"):  # the tests' stand-in for unplugging
            await self._forget_partitions(whole)
            await require("losetup", "-d", node, doing=f"detach {node}")
            return {"message": f"{node} is detached."}
        delete = Path(whole.sys_path, "device", "delete")
        if disk.usb and delete.exists():
            await asyncio.to_thread(delete.write_text, "1")
            logger.info("powered off %s (%s)", node, disk.name)
            return {"message": f"{disk.name} is powered off: you can unplug it now."}
        return {"message": f"{disk.name} is unmounted and flushed: you can remove it now."}

    def _refuse_mounted(self, devices: list[Any], doing: str) -> None:
        mounts = Mounts.read()
        for device in devices:
            targets = mounts.targets(device.device_number)
            if targets:
                raise Refused(f"{device.device_node} is mounted at {targets[0]}: unmount it "
                              f"before you {doing} it")

    async def _forget_partitions(self, whole: Any) -> None:
        """Make the kernel forget a disk's partitions, waiting for a FUSE driver to let go."""
        deadline = time.monotonic() + 10
        while self.guard.partitions(whole):
            outcome = await run("partx", "-d", whole.device_node)
            if time.monotonic() > deadline:
                raise Refused(f"could not let go of the partitions of {whole.device_node}: "
                              f"{outcome.why()}; close what uses them and try again")
            await asyncio.sleep(0.1)

    async def _partition(self, node: str) -> str:
        """Give a whole disk a new GPT with one Linux partition filling it; return that."""
        await self._forget_partitions(self.guard.by_device(node))
        await require("wipefs", "-a", "-q", node, doing=f"erase the old signatures on {node}")
        await require("sfdisk", "-q", "--wipe", "always", "--wipe-partitions", "always", node,
                      stdin="label: gpt\n,,L\n", doing=f"partition {node}")
        # A kernel that reads partition tables already knows the partition; one that
        # does not (loop devices) learns it from partx, which then fails harmlessly.
        await run("partx", "-a", node)
        part = node + ("p1" if node[-1].isdigit() else "1")
        deadline = time.monotonic() + 10
        while not Path(part).is_block_device():
            if time.monotonic() > deadline:
                raise Refused(f"{node} was partitioned but {part} did not appear; "
                              f"unplug the disk, plug it in again and retry")
            await asyncio.sleep(0.1)
        return part


def _verdict(outcome: ToolResult, fstype: str, node: str) -> tuple[str, str]:
    """Turn a checker's exit status into a state and a sentence the user can act on."""
    code = outcome.returncode
    if code == 0:
        return "clean", f"clean: {node} has no errors."
    if fstype == "ntfs":
        return "damaged", (f"damaged: {node} needs Windows to repair it: plug it into a "
                           f"Windows computer and run chkdsk /f. ({outcome.why()})")
    if code in (1, 2):
        return "repaired", f"repaired: {node} had errors, and they are fixed now."
    if code < 8:
        return "damaged", (f"damaged: {node} has errors the check could not fix. Copy what "
                           f"you can off it, then format it or replace it. ({outcome.why()})")
    raise Refused(f"could not check {node}: {outcome.why()}")
