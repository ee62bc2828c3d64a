"""One watch on the disks for the whole box, its events reaching every part that subscribed."""
from __future__ import annotations

import asyncio
import threading

from aiohttp.test_utils import TestServer

from appliance import keys
from appliance.app import create_app
from appliance.platform import Platform
from appliance.platform.disks import ADDED, CHANGED, Disk, DiskEvents, FakeDisks, UdevDisks
from appliance.platform.disks.watcher import THREAD_NAME
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.platform.loopdisks import LoopDisks
from tests.platform.test_disks import Event, Watcher

STICK = Disk(device="/dev/sdb1", parent="/dev/sdb", kind="partition", fstype="exfat")
BACKUP = Disk(device="/dev/sdc1", parent="/dev/sdc", kind="partition", fstype="ext4")


def monitor_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def test_a_late_subscriber_hears_the_disks_already_there_then_each_event() -> None:
    fake = FakeDisks([STICK])
    events = DiskEvents(fake)
    early: list[Event] = []
    late: list[Event] = []
    events.start()
    events.subscribe(lambda action, disk: early.append((action, disk)))
    fake.emit(ADDED, BACKUP)
    fake.emit("removed", STICK)
    subscription = events.subscribe(lambda action, disk: late.append((action, disk)))
    fake.emit(CHANGED, BACKUP)
    subscription.close()
    fake.emit("removed", BACKUP)
    assert early == [("added", STICK), ("added", BACKUP), ("removed", STICK),
                     ("changed", BACKUP), ("removed", BACKUP)]
    assert late == [("added", BACKUP), ("changed", BACKUP)]
    events.close()
    assert fake.handlers == [], "the watch on the disks was left running"


def test_a_failing_subscriber_does_not_keep_the_event_from_the_others() -> None:
    fake = FakeDisks()
    events = DiskEvents(fake)
    seen: list[Event] = []

    def broken(action: str, disk: Disk) -> None:
        raise RuntimeError("a subscriber's bug")
    events.start()
    events.subscribe(broken)
    events.subscribe(lambda action, disk: seen.append((action, disk)))
    fake.emit(ADDED, STICK)
    assert seen == [("added", STICK)]
    events.close()


async def test_one_monitor_thread_tells_every_subscriber_of_a_real_disk(
        loop_disks: LoopDisks) -> None:
    disk = loop_disks.create()
    before = len(monitor_threads())
    events = DiskEvents(UdevDisks(include_loop=True))
    first, second = Watcher(disk), Watcher(disk)
    events.start()
    try:
        events.subscribe(first)
        assert (await first.next())[0] == "added"  # the blank disk, already plugged in
        events.subscribe(second)
        assert (await second.next())[0] == "added"  # told of it on subscribing
        assert len(monitor_threads()) == before + 1
        (part,) = await asyncio.to_thread(disk.partition, "")
        for watcher in (first, second):
            changed = await watcher.next()
            assert changed[0] == "changed" and changed[1].table == "gpt"
        fs_uuid = await asyncio.to_thread(disk.make_fs, part, "ext4", "BOTH")
        for watcher in (first, second):
            action, found = await watcher.next()
            assert (action, found.device, found.uuid) == ("added", part, fs_uuid)
    finally:
        events.close()
    assert len(monitor_threads()) == before


async def test_the_box_watches_its_disks_with_one_thread_for_the_data_disk_and_backups(
        loop_disks: LoopDisks, settings: Settings) -> None:
    before = len(monitor_threads())
    platform = Platform(notifier=NullNotifier(), disks=UdevDisks(include_loop=True))
    server = TestServer(create_app(settings, platform=platform), host="127.0.0.1")
    await server.start_server()
    try:
        # The data disk and backups are subscribed by now, both to the one watch.
        assert len(monitor_threads()) == before + 1
        disk = loop_disks.create()
        watcher = Watcher(disk)
        server.app[keys.DISK_EVENTS].subscribe(watcher)
        assert (await watcher.next())[0] == "added"
        assert len(monitor_threads()) == before + 1
    finally:
        await server.close()
    assert len(monitor_threads()) == before
