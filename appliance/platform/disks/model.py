"""A USB disk or partition as a plain frozen dataclass, made from udev at the boundary."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.i18n import size_words
from appliance.platform.disks.mountinfo import Mounts

_ESCAPED = re.compile(rb"\\x([0-9a-fA-F]{2})")
FS_NAMES = {"ext2": "ext2", "ext3": "ext3", "ext4": "ext4", "exfat": "exFAT", "ntfs": "NTFS",
            "vfat": "FAT", "btrfs": "Btrfs", "xfs": "XFS", "hfsplus": "HFS+", "apfs": "APFS",
            "crypto_LUKS": "encrypted (LUKS)", "swap": "swap"}


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


def _free_bytes(mountpoint: str | None) -> int | None:
    if mountpoint is None:
        return None
    try:
        usage = os.statvfs(mountpoint)
    except OSError:
        return None
    return usage.f_bavail * usage.f_frsize
