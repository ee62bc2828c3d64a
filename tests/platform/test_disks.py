"""Disks as the daemon sees them: real loop disks probed by udevd, listed and watched."""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from appliance.i18n import size_words
from appliance.platform.disks import (
    Disk,
    FakeDisks,
    Mounts,
    UdevDisks,
)
from appliance.platform.disks.table import format_table
from tests.platform.loopdisks import LoopDisk, LoopDisks, sh

Event = tuple[str, Disk]


def test_describe_says_what_a_user_reads_on_the_label() -> None:
    disk = Disk(device="/dev/sdb1", parent="/dev/sdb", kind="partition", uuid="2F3A-91C0",
                label="PHOTOS", fstype="exfat", size=64_021_856_256, vendor="SanDisk",
                model="Ultra", removable=True, usb=True)
    assert disk.describe() == "SanDisk Ultra, 64 GB, exFAT, label PHOTOS"
    blank = Disk(device="/dev/sdc", parent="/dev/sdc", kind="disk", size=1_500_301_910_016,
                 usb=True)
    assert blank.describe() == "USB disk sdc, 1.5 TB, no filesystem"
    assert [size_words(n) for n in (512, 67_108_864, 999_999_999)] == \
        ["512 bytes", "67 MB", "1.0 GB"]


def test_mount_table_reads_escaped_paths_and_fuse_mounts(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(
        "27 1 254:0 / / rw,relatime - ext4 /dev/root rw\n"
        "42 27 0:51 / /media/my\\040disk rw,nosuid - fuseblk /dev/nonexistent rw\n")
    mounts = Mounts.read(str(table))
    assert mounts.targets(os.makedev(254, 0)) == ["/"]
    assert mounts.at("/media/my disk") is not None


def test_fake_disks_report_what_is_plugged_then_each_event() -> None:
    stick = Disk(device="/dev/sdb1", parent="/dev/sdb", kind="partition", fstype="exfat")
    fake = FakeDisks([stick])
    seen: list[Event] = []
    watch = fake.watch(lambda action, disk: seen.append((action, disk)))
    backup = Disk(device="/dev/sdc1", parent="/dev/sdc", kind="partition", fstype="ext4")
    fake.emit("added", backup)
    fake.emit("removed", stick)
    watch.close()
    fake.emit("removed", backup)
    assert seen == [("added", stick), ("added", backup), ("removed", stick)]
    assert fake.list() == []


def test_lists_partitions_with_label_fs_size_and_uuid(loop_disks: LoopDisks,
                                                       tmp_path: Path) -> None:
    disk = loop_disks.create("96M")
    data, photos, windows = disk.partition("32M", "32M", "")
    uuids = {data: disk.make_fs(data, "ext4", "DATA"),
             photos: disk.make_fs(photos, "exfat", "PHOTOS"),
             windows: disk.make_fs(windows, "ntfs", "WINDOWS")}
    whole = loop_disks.create("32M")
    whole_uuid = whole.make_fs(whole.device, "ext4", "WHOLE")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sh("mount", data, str(mnt))
    listed = {d.device: d for d in UdevDisks(include_loop=True).list()}

    assert listed[disk.device].kind == "disk" and listed[disk.device].table == "gpt"
    for node, fstype, label in ((data, "ext4", "DATA"), (photos, "exfat", "PHOTOS"),
                                (windows, "ntfs", "WINDOWS")):
        found = listed[node]
        assert (found.kind, found.parent, found.fstype, found.label, found.uuid) == \
            ("partition", disk.device, fstype, label, uuids[node])
        assert found.size == int(sh("blockdev", "--getsize64", node))
        assert not found.usb and not found.removable
    assert listed[data].mountpoint == str(mnt) and 0 < (listed[data].free or 0) < 32 << 20
    assert listed[photos].mountpoint is None and listed[photos].free is None
    assert listed[photos].describe() == f"disk {disk.name}p2, 34 MB, exFAT, label PHOTOS"
    assert (listed[whole.device].kind, listed[whole.device].parent,
            listed[whole.device].uuid) == ("disk", whole.device, whole_uuid)

    table = format_table(listed.values())
    row = next(line for line in table.splitlines() if line.startswith(data + " "))
    assert row.split()[1:5] == ["34", "MB", "ext4", "DATA"] and row.endswith(str(mnt))
    # Loop disks are the tests' business, and the system disk is never offered.
    plain = UdevDisks().list()
    assert not any(d.device.startswith("/dev/loop") for d in plain)
    root = Mounts.read().at("/")
    assert root is None or not any(d.mountpoint == "/" for d in plain)


class Watcher:
    """Collect one loop disk's events from UdevDisks.watch on the running loop."""

    def __init__(self, disk: LoopDisk) -> None:
        self.disk = disk
        self.events: asyncio.Queue[Event] = asyncio.Queue()

    def __call__(self, action: str, event_disk: Disk) -> None:
        assert asyncio.get_running_loop()  # delivered on the loop, not the monitor thread
        # Kept whatever the disk: a disk being attached may be heard of before losetup
        # has told its device.
        self.events.put_nowait((action, event_disk))

    async def next(self, timeout: float = 30) -> Event:
        """Return the next event of our disk."""
        async with asyncio.timeout(timeout):
            while True:
                action, event_disk = await self.events.get()
                if event_disk.parent == self.disk.device:
                    return action, event_disk

    def waiting(self) -> list[Event]:
        """Return the events of our disk heard and not read yet."""
        heard = [self.events.get_nowait() for _ in range(self.events.qsize())]
        return [(action, d) for action, d in heard if d.parent == self.disk.device]

    async def until(self, done: Callable[[list[Event]], bool]) -> list[Event]:
        """Collect events until `done` says enough."""
        seen: list[Event] = []
        while not done(seen):
            seen.append(await self.next())
        return seen


@pytest.fixture
async def unplugged(loop_disks: LoopDisks) -> AsyncIterator[tuple[LoopDisk, str]]:
    """A GPT disk with an ext4 partition labelled PLUG, detached as if unplugged."""
    disk = loop_disks.create()
    (part,) = disk.partition("")
    fs_uuid = disk.make_fs(part, "ext4", "PLUG")
    disk.detach()
    yield disk, fs_uuid


async def test_watch_reports_plug_and_unplug_with_the_disk(
        unplugged: tuple[LoopDisk, str]) -> None:
    disk, fs_uuid = unplugged
    watcher = Watcher(disk)
    watch = UdevDisks(include_loop=True).watch(watcher)
    try:
        # Plug in only once the watch has listed what was already there: a disk plugged in
        # during that listing would be reported as present, not as added.
        assert await asyncio.to_thread(watch.listed.wait, 60)
        await asyncio.to_thread(disk.attach)
        watcher.disk = disk  # now we know its loop device
        await asyncio.to_thread(disk.trigger, "add")
        await asyncio.to_thread(sh, "partx", "-a", disk.device)
        # Under load udev may report the disk again (changed) before its partition shows.
        seen = await watcher.until(
            lambda seen: any(d.kind == "partition" for _, d in seen))
        added = [(action, d) for action, d in seen if action != "changed"]
        part = next(d for action, d in added if d.kind == "partition")
        assert sorted((d.kind, action) for action, d in added) == [
            ("disk", "added"), ("partition", "added")]
        assert (part.device, part.uuid, part.label, part.fstype) == \
            (disk.device + "p1", fs_uuid, "PLUG", "ext4")

        await asyncio.to_thread(disk.trigger, "remove")
        # (udev may still report a change, such as the partition table read, before that)
        events = seen + await watcher.until(
            lambda more: sum(action == "removed" for action, _ in more) >= 2)
        last_seen = {d.device: d for action, d in events if action != "removed"}
        removed = [(action, d) for action, d in events if action == "removed"]
        assert removed == [("removed", last_seen[part.device]),
                           ("removed", last_seen[disk.device])]
        await asyncio.sleep(0.3)
        assert watcher.waiting() == [], "an event arrived after the disk was unplugged"
    finally:
        watch.close()


async def test_watch_waits_until_udev_has_probed_the_filesystem(
        loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    watcher = Watcher(disk)
    watch = UdevDisks(include_loop=True).watch(watcher)
    try:
        assert (await watcher.next())[0] == "added"  # the blank disk, already plugged in
        (part,) = await asyncio.to_thread(disk.partition, "")
        changed = await watcher.next()
        assert changed[0] == "changed" and changed[1].table == "gpt"
        await asyncio.sleep(0.5)
        assert watcher.waiting() == [], "a partition with no filesystem was reported"
        fs_uuid = await asyncio.to_thread(disk.make_fs, part, "exfat", "LATER")
        action, found = await watcher.next()
        assert (action, found.device, found.uuid, found.label) == \
            ("added", part, fs_uuid, "LATER")
    finally:
        watch.close()
