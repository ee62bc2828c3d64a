"""The mount table (/proc/self/mountinfo) by device number, and the disks the system runs from."""
from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Where a running system keeps itself: the disk holding any of these is the system disk.
SYSTEM_MOUNTS = frozenset({"/", "/boot", "/boot/firmware", "/usr", "/var"})


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
    def read(cls, path: str = "/proc/self/mountinfo", sysfs: Path = Path("/sys")) -> Mounts:
        """Return the mount table read now (`sysfs` names FUSE and btrfs sources' disks)."""
        with open(path, encoding="utf-8", errors="surrogateescape") as table:
            found = (_mount_of(line, sysfs) for line in table)
            return cls(entry for entry in found if entry is not None)

    def targets(self, devnum: int) -> list[str]:
        """Return where the block device numbered `devnum` is mounted, first mount first."""
        return [entry.target for entry in self.entries if entry.devnum == devnum]

    def at(self, target: str) -> Mount | None:
        """Return what is mounted at `target` (the topmost mount), or None."""
        found = [entry for entry in self.entries if entry.target == target]
        return found[-1] if found else None


def _mount_of(line: str, sysfs: Path = Path("/sys")) -> Mount | None:
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
        devnum = _block_number(source, sysfs) or devnum
    return Mount(devnum=devnum, source=source, target=target, fstype=fstype)


def _unescape_octal(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda found: chr(int(found.group(1), 8)), text)


def _block_number(path: str, sysfs: Path = Path("/sys")) -> int | None:
    """Return the device number of the block device `path` names (/dev/sdb1), or None."""
    if not path.startswith("/dev/"):
        return None
    name = path[len("/dev/"):]
    try:  # sysfs first: under PrivateDevices= the daemon's /dev has no disks
        major, minor = Path(sysfs, "class/block", name, "dev").read_text().split(":")
        return os.makedev(int(major), int(minor))
    except (OSError, ValueError):
        pass  # not a kernel name (/dev/mapper/…, /dev/disk/by-uuid/…): ask the node
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_rdev if stat.S_ISBLK(status.st_mode) else None


def system_disks(mounts: Mounts, swaps: str = "/proc/swaps",
                 sysfs: Path = Path("/sys")) -> frozenset[str]:
    """Return the kernel names of the disks the system runs from (e.g. {"mmcblk0"}).

    `swaps` and `sysfs` are where the swap table and sysfs are read (tests pass a fake tree).
    """
    numbers = {entry.devnum for entry in mounts.entries if entry.target in SYSTEM_MOUNTS}
    try:
        with open(swaps, encoding="utf-8") as table:
            numbers.update(filter(None, (_block_number(line.split()[0], sysfs) for line in table
                                         if line.startswith("/dev/"))))
    except OSError:
        pass
    names = set()
    for number in numbers:
        node = Path(sysfs, f"dev/block/{os.major(number)}:{os.minor(number)}")
        if node.exists():
            node = node.resolve()
            names.add(node.parent.name if (node / "partition").exists() else node.name)
    return frozenset(names)
