"""The disks as the aligned table `hearth disks` prints."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from appliance.i18n import size_words
from appliance.platform.disks.model import FS_NAMES, Disk

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
