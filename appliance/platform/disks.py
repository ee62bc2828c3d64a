"""USB disks as plain frozen dataclasses: listing them, and watching them come and go."""
from __future__ import annotations

import asyncio
import logging
import os
import re
import selectors
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import pyudev

from appliance.i18n import size_words

logger = logging.getLogger(__name__)

ADDED, CHANGED, REMOVED = "added", "changed", "removed"
# Where a running system keeps itself: the disk holding any of these is the system disk.
SYSTEM_MOUNTS = frozenset({"/", "/boot", "/boot/firmware", "/usr", "/var"})
# Block devices that are never a disk someone plugged in: RAM disks, compressed swap,
# device-mapper and RAID volumes, optical and floppy drives, network block devices,
# and the eMMC boot and RPMB areas.
_NEVER = re.compile(r"(ram|zram|dm-|md|sr|fd|nbd|mtdblock)\d|mmcblk\d+(boot\d+|rpmb)$")
_LOOP = re.compile(r"loop\d")
_ESCAPED = re.compile(rb"\\x([0-9a-fA-F]{2})")
FS_NAMES = {"ext2": "ext2", "ext3": "ext3", "ext4": "ext4", "exfat": "exFAT", "ntfs": "NTFS",
            "vfat": "FAT", "btrfs": "Btrfs", "xfs": "XFS", "hfsplus": "HFS+", "apfs": "APFS",
            "crypto_LUKS": "encrypted (LUKS)", "swap": "swap"}


@dataclass(frozen=True)
class Mount:
    """One line of the mount table: which block device is mounted where."""

    devnum: int
    source: str
    target: str
    fstype: str


class Mounts:
    """The mount table as /proc/self/mountinfo shows it, looked up by device number."""

    def __init__(self, entries: Iterable[Mount] = ()) -> None:
        self.entries = tuple(entries)

    @classmethod
    def read(cls, path: str = "/proc/self/mountinfo") -> Mounts:
        """Return the mount table read now."""
        with open(path, encoding="utf-8", errors="surrogateescape") as table:
            return cls(entry for entry in map(_mount_of, table) if entry is not None)

    def targets(self, devnum: int) -> list[str]:
        """Return where the block device numbered `devnum` is mounted, first mount first."""
        return [entry.target for entry in self.entries if entry.devnum == devnum]

    def at(self, target: str) -> Mount | None:
        """Return what is mounted at `target` (the topmost mount), or None."""
        found = [entry for entry in self.entries if entry.target == target]
        return found[-1] if found else None


def _mount_of(line: str) -> Mount | None:
    fields = line.split()
    try:
        separator = fields.index("-")
        major, minor = (int(part) for part in fields[2].split(":"))
        target, fstype, source = fields[4], fields[separator + 1], fields[separator + 2]
    except (ValueError, IndexError):
        return None
    target, source = _unescape_octal(target), _unescape_octal(source)
    devnum = os.makedev(major, minor)
    if major == 0:  # a FUSE or network filesystem: the source may still name a block device
        devnum = _block_number(source) or devnum
    return Mount(devnum=devnum, source=source, target=target, fstype=fstype)


def _unescape_octal(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda found: chr(int(found.group(1), 8)), text)


def _block_number(path: str) -> int | None:
    """Return the device number of the block device `path` names (/dev/sdb1), or None."""
    if not path.startswith("/dev/"):
        return None
    name = path[len("/dev/"):]
    try:  # sysfs first: under PrivateDevices= the daemon's /dev has no disks
        major, minor = Path("/sys/class/block", name, "dev").read_text().split(":")
        return os.makedev(int(major), int(minor))
    except (OSError, ValueError):
        pass  # not a kernel name (/dev/mapper/…, /dev/disk/by-uuid/…): ask the node
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_rdev if stat.S_ISBLK(status.st_mode) else None


def system_disks(mounts: Mounts, swaps: str = "/proc/swaps") -> frozenset[str]:
    """Return the kernel names of the disks the system runs from (e.g. {"mmcblk0"})."""
    numbers = {entry.devnum for entry in mounts.entries if entry.target in SYSTEM_MOUNTS}
    try:
        with open(swaps, encoding="utf-8") as table:
            numbers.update(filter(None, (_block_number(line.split()[0]) for line in table
                                         if line.startswith("/dev/"))))
    except OSError:
        pass
    names = set()
    for number in numbers:
        node = Path(f"/sys/dev/block/{os.major(number)}:{os.minor(number)}")
        if node.exists():
            node = node.resolve()
            names.add(node.parent.name if (node / "partition").exists() else node.name)
    return frozenset(names)


def _decoded(properties: Any, key: str) -> str:
    """Return a udev property as the device spelled it (from KEY_ENC when udev gives it)."""
    encoded = properties.get(key + "_ENC")
    if encoded:
        raw = _ESCAPED.sub(lambda found: bytes([int(found.group(1), 16)]), encoded.encode())
        return raw.decode("utf-8", "replace").strip()
    return str(properties.get(key, "")).replace("_", " ").strip()


def _attribute(device: Any, name: str) -> str:
    try:
        return str(device.attributes.asstring(name)).strip()
    except (KeyError, UnicodeDecodeError):
        return ""


def _sysfs_text(device: Any, name: str) -> str:
    try:
        text = Path(device.sys_path, "device", name).read_text(errors="replace").strip()
    except OSError:
        return ""
    return "" if text.startswith("0x") else text  # a bus id (virtio, PCI), not a name


@dataclass(frozen=True)
class Disk:
    """A disk or partition as the user sees it. Text fields are "" when the disk has none."""

    device: str
    parent: str
    kind: str
    uuid: str = ""
    label: str = ""
    fstype: str = ""
    size: int = 0
    vendor: str = ""
    model: str = ""
    removable: bool = False
    usb: bool = False
    mountpoint: str | None = None
    free: int | None = None
    table: str = ""

    @classmethod
    def from_udev(cls, device: Any, *, mounts: Mounts) -> Disk:
        """Return the Disk for a pyudev block device, mounted as `mounts` says."""
        whole = device if device.device_type == "disk" else device.find_parent("block", "disk")
        props, whole_props = device.properties, whole.properties
        mountpoints = mounts.targets(device.device_number)
        mountpoint = mountpoints[0] if mountpoints else None
        return cls(
            device=device.device_node, parent=whole.device_node,
            kind="disk" if whole is device else "partition",
            uuid=props.get("ID_FS_UUID", ""), label=_decoded(props, "ID_FS_LABEL"),
            fstype=props.get("ID_FS_TYPE", ""), size=device.attributes.asint("size") * 512,
            vendor=_decoded(whole_props, "ID_VENDOR") or _sysfs_text(whole, "vendor"),
            model=(_decoded(whole_props, "ID_MODEL") or _sysfs_text(whole, "model")
                   or _decoded(whole_props, "ID_NAME")),
            removable=_attribute(whole, "removable") == "1",
            usb=whole_props.get("ID_BUS") == "usb" or whole.find_parent("usb") is not None,
            mountpoint=mountpoint, free=_free_bytes(mountpoint),
            table=props.get("ID_PART_TABLE_TYPE", "") if whole is device else "")

    @property
    def name(self) -> str:
        """Return what the disk calls itself ("SanDisk Ultra"), else its kernel name."""
        made = f"{self.vendor} {self.model}".strip()
        return made or ("USB disk " if self.usb else "disk ") + os.path.basename(self.device)

    def describe(self) -> str:
        """Say in plain words what this is: "SanDisk Ultra, 64 GB, exFAT, label PHOTOS"."""
        content = FS_NAMES.get(self.fstype, self.fstype)
        if not content:
            content = f"{self.table.upper()} partition table" if self.table else "no filesystem"
        words = [self.name, size_words(self.size), content]
        if self.label:
            words.append(f"label {self.label}")
        return ", ".join(words)


def _free_bytes(mountpoint: str | None) -> int | None:
    if mountpoint is None:
        return None
    try:
        usage = os.statvfs(mountpoint)
    except OSError:
        return None
    return usage.f_bavail * usage.f_frsize


class Closeable(Protocol):
    """Something to close when done, such as a running watch."""

    def close(self) -> None:
        """Stop and release what it holds; calling it again does nothing."""


EventHandler = Callable[[str, Disk], None]


class Disks(Protocol):
    """The disks plugged into the box.

    A Disk is a whole disk, or a partition that holds a filesystem. `watch` first
    reports every disk already present as "added" (so that nothing plugged in
    between a `list` and a `watch` is missed), then "added", "changed" and
    "removed" as they happen; "removed" carries the last Disk seen. The handler
    is called on the event loop that called `watch`. `list` blocks on the system
    (statvfs of mounted disks): call it through `asyncio.to_thread`.
    """

    def list(self) -> list[Disk]:
        """Return the disks plugged in now."""

    def watch(self, on_event: EventHandler) -> Closeable:
        """Call `on_event(action, disk)` for each disk event until closed."""


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


class UdevWatch:
    """A pyudev monitor in its own thread, handing disk events to the asyncio loop."""

    def __init__(self, disks: UdevDisks, on_event: EventHandler,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._disks, self._on_event, self._loop = disks, on_event, loop
        self._monitor = pyudev.Monitor.from_netlink(disks.context, source="udev")
        self._monitor.filter_by("block")
        self._monitor.start()  # from here on, events queue up in the netlink socket
        self._wake_read, self._wake_write = os.pipe()
        self._known: dict[str, Disk] = {}
        # Set once what was plugged in before the watch has been reported.
        self.listed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hearth-disks", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the monitor thread and wait for it."""
        if self._wake_write < 0:
            return
        os.write(self._wake_write, b"x")
        self._thread.join(timeout=10)
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)
        self._wake_write = -1

    def _run(self) -> None:
        try:
            try:
                for disk in self._disks.list():
                    self._update(disk.device, disk)
            finally:
                self.listed.set()
            with selectors.DefaultSelector() as selector:
                selector.register(self._monitor, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while self._wake_read not in {key.fileobj for key, _ in selector.select()}:
                    for device in iter(lambda: self._monitor.poll(timeout=0), None):
                        self._handle(device)
        except RuntimeError:
            pass  # the loop closed under us: nobody is listening any more
        except Exception:
            logger.exception("the disk watcher stopped: plugged or unplugged disks will "
                             "go unnoticed until Hearth restarts")

    def _handle(self, device: Any) -> None:
        node = device.device_node
        if not node or device.action not in ("add", "change", "remove"):
            return
        disk = None
        if device.action != "remove":
            mounts = Mounts.read()
            system = frozenset() if self._disks.include_system else system_disks(mounts)
            disk = self._disks.disk_of(device, mounts, system)
        self._update(node, disk)

    def _update(self, node: str, disk: Disk | None) -> None:
        before = self._known.get(node)
        if disk is None:
            children = [d for d in self._known.values() if d.parent == node and d is not before]
            for child in children:  # a disk takes its partitions with it
                self._update(child.device, None)
            if self._known.pop(node, None) is not None:
                self._emit(REMOVED, before)
            return
        self._known[node] = disk
        if before is None:
            self._emit(ADDED, disk)
        elif replace(before, free=None) != replace(disk, free=None):
            self._emit(CHANGED, disk)

    def _emit(self, action: str, disk: Disk | None) -> None:
        if disk is not None:
            self._loop.call_soon_threadsafe(self._deliver, action, disk)

    def _deliver(self, action: str, disk: Disk) -> None:
        try:
            self._on_event(action, disk)
        except Exception:
            logger.exception("handling %s %s failed", action, disk.device)


class FakeDisks:
    """Disks for tests of what sits above the adapter: set `disks`, then `emit` events.

    Unlike UdevDisks, handlers are called at once, from `watch` and `emit`.
    """

    def __init__(self, disks: Iterable[Disk] = ()) -> None:
        self.disks = list(disks)
        self.handlers: list[EventHandler] = []

    def list(self) -> list[Disk]:
        """Return the disks set so far."""
        return list(self.disks)

    def watch(self, on_event: EventHandler) -> Closeable:
        """Report the disks present as "added", then every `emit`, until closed."""
        self.handlers.append(on_event)
        for disk in self.list():
            on_event(ADDED, disk)
        return _FakeWatch(self, on_event)

    def emit(self, action: str, disk: Disk) -> None:
        """Update the list as `action` says and tell every watcher."""
        if action not in (ADDED, CHANGED, REMOVED):
            raise ValueError(f"unknown disk event {action!r}: use added, changed or removed")
        self.disks = [d for d in self.disks if d.device != disk.device]
        if action != REMOVED:
            self.disks.append(disk)
        for handler in list(self.handlers):
            handler(action, disk)


@dataclass
class _FakeWatch:
    disks: FakeDisks
    handler: EventHandler

    def close(self) -> None:
        if self.handler in self.disks.handlers:
            self.disks.handlers.remove(self.handler)


_COLUMNS = ("DEVICE", "SIZE", "FS", "LABEL", "FREE", "DISK", "BUS", "MOUNTED AT")


def _row(disk: Disk) -> Iterator[str]:
    yield disk.device
    yield size_words(disk.size)
    yield FS_NAMES.get(disk.fstype, disk.fstype) or (disk.table and f"({disk.table})")
    yield disk.label
    yield "" if disk.free is None else size_words(disk.free)
    yield f"{disk.vendor} {disk.model}".strip()
    yield ", ".join(word for word, on in (("usb", disk.usb), ("removable", disk.removable)) if on)
    yield disk.mountpoint or ""


def format_table(disks: Iterable[Disk]) -> str:
    """Return the disks as the aligned table `hearth disks` prints."""
    rows = [list(_COLUMNS)] + [[cell or "-" for cell in _row(disk)] for disk in disks]
    if len(rows) == 1:
        return "No disks found. Plug in a USB disk, then run `hearth disks` again."
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)
