"""The disk Hearth runs from: found in the mount and swap tables, and never touched by the helper.

Run against a fake sysfs tree and mount table (tests/platform/fakesysfs.py), so that each
kind of box (a Pi booted from its SD card, a Pi booted from a USB disk, a PC) can be laid
out, including the ones this machine is not.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.helper.deviceguard import DeviceGuard
from appliance.helper.errors import Refused
from appliance.platform.disks import Mounts, system_disks
from tests.platform.fakesysfs import ON_SATA, ON_SD, ON_USB, FakeSysfs

RUNS_FROM = "is on the disk Hearth runs from"


def system_of(tree: FakeSysfs) -> frozenset[str]:
    """Return the system disks the tree's mount and swap tables name."""
    mounts = Mounts.read(str(tree.proc / "self/mountinfo"), tree.sysfs)
    return system_disks(mounts, str(tree.proc / "swaps"), tree.sysfs)


def guard_of(tree: FakeSysfs, loop_images: Path | None = None) -> DeviceGuard:
    return DeviceGuard(loop_images=loop_images, context=object(), proc=tree.proc,
                       sysfs=tree.sysfs)


@pytest.fixture
def tree(tmp_path: Path) -> FakeSysfs:
    return FakeSysfs(tmp_path)


def pi_booted_from_sd(tree: FakeSysfs) -> tuple[Path, Path]:
    """Lay out a Pi running from its SD card (mmcblk0); return the card and its root."""
    card = tree.disk("mmcblk0", "179:0", bus=ON_SD)
    tree.partition(card, 1, "179:1")
    root = tree.partition(card, 2, "179:2")
    tree.mount("179:2", "/")
    tree.mount("179:1", "/boot/firmware", fstype="vfat", source="/dev/mmcblk0p1")
    return card, root


def pi_booted_from_usb(tree: FakeSysfs) -> tuple[Path, Path]:
    """Lay out a Pi running from a USB SSD (sda, no SD card); return the SSD and its root."""
    ssd = tree.disk("sda", "8:0", bus=ON_USB)
    tree.partition(ssd, 1, "8:1")
    root = tree.partition(ssd, 2, "8:2")
    tree.mount("8:2", "/")
    tree.mount("8:1", "/boot/firmware", fstype="vfat", source="/dev/sda1")
    return ssd, root


def test_a_pi_booted_from_its_sd_card_runs_from_the_card(tree: FakeSysfs) -> None:
    pi_booted_from_sd(tree)
    tree.disk("sda", "8:0", bus=ON_USB)
    tree.mount("8:0", "/media/hearth/PHOTOS", fstype="exfat", source="/dev/sda")
    assert system_of(tree) == {"mmcblk0"}


def test_a_pi_booted_from_usb_runs_from_the_usb_disk(tree: FakeSysfs) -> None:
    pi_booted_from_usb(tree)
    stick = tree.disk("sdb", "8:16", bus=ON_USB.replace("2-1", "2-2"), removable=True)
    tree.partition(stick, 1, "8:17")
    tree.mount("8:17", "/srv/hearth", source="/dev/sdb1")
    assert system_of(tree) == {"sda"}


def test_swap_on_another_disk_makes_it_a_system_disk_too(tree: FakeSysfs) -> None:
    pi_booted_from_sd(tree)
    ssd = tree.disk("sda", "8:0", bus=ON_USB)
    tree.partition(ssd, 1, "8:1")
    tree.write_swaps(["/dev/sda1", "/swapfile"])
    assert system_of(tree) == {"mmcblk0", "sda"}


def test_a_btrfs_root_is_found_by_its_source_and_a_whole_disk_var_by_its_number(
        tree: FakeSysfs) -> None:
    nvme = tree.disk("nvme0n1", "259:0", bus="devices/pci0000:00/0000:00:1d.0/nvme/nvme0")
    tree.partition(nvme, 2, "259:2")
    tree.mount("0:31", "/", fstype="btrfs", source="/dev/nvme0n1p2")
    tree.disk("sdc", "8:32", bus=ON_SATA)
    tree.mount("8:32", "/var", source="/dev/sdc")
    tree.mount("0:45", "/media/hearth/NET", fstype="cifs", source="//nas/share")
    assert system_of(tree) == {"nvme0n1", "sdc"}


def test_nothing_mounted_at_a_system_place_means_no_system_disk(tree: FakeSysfs) -> None:
    ssd = tree.disk("sda", "8:0", bus=ON_USB)
    tree.partition(ssd, 1, "8:1")
    tree.mount("8:1", "/media/hearth/DATA", source="/dev/sda1")
    tree.mount("0:19", "/", fstype="overlay", source="overlay")  # a container's root
    assert system_of(tree) == frozenset()


def test_the_helper_refuses_the_usb_disk_a_pi_booted_from(tree: FakeSysfs) -> None:
    ssd, root = pi_booted_from_usb(tree)
    guard = guard_of(tree)
    for folder in (ssd, root, ssd / "sda1"):
        with pytest.raises(Refused) as refused:
            guard.allow(tree.device(folder))
        assert str(refused.value) == (f"/dev/{folder.name} {RUNS_FROM}; Hearth never "
                                      f"changes its own system disk")


def test_the_helper_accepts_another_usb_disk_and_a_removable_card(tree: FakeSysfs) -> None:
    card, _ = pi_booted_from_sd(tree)
    ssd = tree.disk("sda", "8:0", bus=ON_USB)
    data = tree.partition(ssd, 1, "8:1")
    reader = tree.disk("mmcblk1", "179:32", bus=ON_SD.replace("mmc0", "mmc1"), removable=True)
    photos = tree.partition(reader, 1, "179:33")
    guard = guard_of(tree)
    for folder in (ssd, data, reader, photos):
        guard.allow(tree.device(folder))
    with pytest.raises(Refused, match="/dev/mmcblk0p2 is not a removable disk"):
        guard.allow(tree.device(card / "mmcblk0p2"))


def test_the_helper_refuses_a_removable_system_disk_and_a_usb_swap_disk(
        tree: FakeSysfs) -> None:
    card = tree.disk("mmcblk0", "179:0", bus=ON_SD, removable=True)
    tree.partition(card, 1, "179:1")
    tree.mount("179:1", "/")
    ssd = tree.disk("sda", "8:0", bus=ON_USB)
    tree.partition(ssd, 1, "8:1")
    tree.write_swaps(["/dev/sda1"])
    guard = guard_of(tree)
    for folder in (card / "mmcblk0p1", ssd):
        with pytest.raises(Refused, match=RUNS_FROM):
            guard.allow(tree.device(folder))


def test_the_helper_refuses_an_internal_disk(tree: FakeSysfs) -> None:
    pi_booted_from_sd(tree)
    sata = tree.disk("sda", "8:0", bus=ON_SATA)
    with pytest.raises(Refused, match="/dev/sda is not a removable disk"):
        guard_of(tree).allow(tree.device(sata))


def test_the_helper_takes_only_loop_devices_whose_image_is_in_its_folder(
        tree: FakeSysfs, tmp_path: Path) -> None:
    pi_booted_from_sd(tree)
    images = tmp_path / "images"
    ours = tree.disk("loop3", "7:3", bus="devices/virtual")
    (ours / "loop").mkdir()
    (ours / "loop/backing_file").write_text(f"{images}/usb.img\n")
    theirs = tree.disk("loop4", "7:4", bus="devices/virtual")
    (theirs / "loop").mkdir()
    (theirs / "loop/backing_file").write_text("/var/lib/snapd/snaps/core.snap\n")
    guard_of(tree, loop_images=images).allow(tree.device(ours))
    with pytest.raises(Refused, match="whose image /var/lib/snapd/snaps/core.snap is not in"):
        guard_of(tree, loop_images=images).allow(tree.device(theirs))
    with pytest.raises(Refused, match="/dev/loop3 is a loop device, not a USB disk"):
        guard_of(tree).allow(tree.device(ours))
