"""A fake sysfs tree and mount table in a folder, and udev-like devices read from that tree."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Where a disk hangs in sysfs, by the bus it is on (the paths a Raspberry Pi 4 shows).
ON_USB = "devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0"  # noqa: E501
ON_SD = "devices/platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa"
ON_SATA = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"


class FakeSysfs:
    """A sysfs tree under `root`: /sys/devices/…/block/NAME, /sys/dev/block and /sys/class/block.

    Its `proc` folder holds the mount table (`proc/self/mountinfo`) and the swap table.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sysfs = root / "sys"
        self.proc = root / "proc"
        (self.sysfs / "bus/usb").mkdir(parents=True)
        for folder in ("dev/block", "class/block"):
            (self.sysfs / folder).mkdir(parents=True)
        (self.proc / "self").mkdir(parents=True)
        self.mount_lines: list[str] = []
        self.write_swaps([])

    def disk(self, name: str, devnum: str, *, bus: str, removable: bool = False,
             sectors: int = 62_521_344) -> Path:
        """Add a whole disk `name` ("sda") numbered `devnum` ("8:0") on `bus`; return its folder."""
        if "/usb" in bus:  # the USB interface: what udev's find_parent("usb") stops at
            usb_interface = self.sysfs / bus.split("/host")[0]
            usb_interface.mkdir(parents=True, exist_ok=True)
            (usb_interface / "subsystem").symlink_to(self.sysfs / "bus/usb")
        folder = self.sysfs / bus / "block" / name
        folder.mkdir(parents=True)
        (folder / "removable").write_text("1\n" if removable else "0\n")
        self._block(folder, devnum, sectors)
        return folder

    def partition(self, disk: Path, number: int, devnum: str, *, sectors: int = 1_048_576) -> Path:
        """Add partition `number` of `disk` (sda2, mmcblk0p2) numbered `devnum`."""
        name = f"{disk.name}p{number}" if disk.name[-1].isdigit() else f"{disk.name}{number}"
        folder = disk / name
        folder.mkdir()
        (folder / "partition").write_text(f"{number}\n")
        self._block(folder, devnum, sectors)
        return folder

    def _block(self, folder: Path, devnum: str, sectors: int) -> None:
        (folder / "dev").write_text(f"{devnum}\n")
        (folder / "size").write_text(f"{sectors}\n")
        for link in (self.sysfs / "dev/block" / devnum, self.sysfs / "class/block" / folder.name):
            link.symlink_to(os.path.relpath(folder, link.parent))

    def mount(self, devnum: str, target: str, *, fstype: str = "ext4",
              source: str = "/dev/root") -> None:
        """Add a line to the mount table: `devnum` ("179:2") mounted at `target`."""
        number = len(self.mount_lines) + 20
        self.mount_lines.append(f"{number} 1 {devnum} / {target} rw,relatime shared:1 - "
                                f"{fstype} {source} rw")
        (self.proc / "self/mountinfo").write_text("".join(f"{line}\n"
                                                          for line in self.mount_lines))

    def write_swaps(self, devices: list[str]) -> None:
        """Write the swap table with `devices` (/dev/sda3) as swap partitions."""
        lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
        lines += [f"{device}\tpartition\t1048572\t\t0\t\t-2" for device in devices]
        (self.proc / "swaps").write_text("".join(f"{line}\n" for line in lines))

    def device(self, folder: Path) -> SysfsDevice:
        """Return the udev-like device for a disk or partition folder of this tree."""
        return SysfsDevice(self.sysfs, folder)


@dataclass
class _Attributes:
    folder: Path

    def asint(self, name: str) -> int:
        return int(self.asstring(name))

    def asstring(self, name: str) -> str:
        try:
            return (self.folder / name).read_text().strip()
        except FileNotFoundError:
            raise KeyError(name) from None


@dataclass
class SysfsDevice:
    """A block device as pyudev shows it (the fields Disk.from_udev and DeviceGuard read)."""

    sysfs: Path
    folder: Path
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def sys_path(self) -> str:
        return str(self.folder)

    @property
    def sys_name(self) -> str:
        return self.folder.name

    @property
    def device_node(self) -> str:
        return f"/dev/{self.folder.name}"

    @property
    def device_type(self) -> str:
        return "partition" if (self.folder / "partition").exists() else "disk"

    @property
    def device_number(self) -> int:
        major, minor = (self.folder / "dev").read_text().split(":")
        return os.makedev(int(major), int(minor))

    @property
    def attributes(self) -> _Attributes:
        return _Attributes(self.folder)

    def find_parent(self, subsystem: str, device_type: str | None = None) -> Any:
        """Return the nearest parent of `subsystem` ("block" with "disk", or "usb"), or None."""
        if subsystem == "block":
            return SysfsDevice(self.sysfs, self.folder.parent) if device_type == "disk" \
                and self.device_type == "partition" else None
        for parent in self.folder.parents:
            if not parent.is_relative_to(self.sysfs):
                return None
            link = parent / "subsystem"
            if link.is_symlink() and link.resolve().name == subsystem:
                return parent
        return None
