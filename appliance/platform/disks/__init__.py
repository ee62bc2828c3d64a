"""USB disks as plain frozen dataclasses: listing them, and watching them come and go.

model: the Disk and its words; mountinfo: the mount table and the system disks;
port: the Disks Protocol and its events; udev and watcher: the real adapter and its
monitor thread; events: the one watch the app fans out to its parts; fake: the
adapter for the fast tests; table: `hearth disks`'s table.
"""
from __future__ import annotations

from appliance.platform.disks.events import DiskEvents
from appliance.platform.disks.fake import FakeDisks
from appliance.platform.disks.model import FS_NAMES, Disk
from appliance.platform.disks.mountinfo import Mount, Mounts, system_disks
from appliance.platform.disks.port import (
    ADDED,
    CHANGED,
    REMOVED,
    Closeable,
    Disks,
    EventHandler,
)
from appliance.platform.disks.udev import UdevDisks

__all__ = [
    "ADDED",
    "CHANGED",
    "FS_NAMES",
    "REMOVED",
    "Closeable",
    "Disk",
    "DiskEvents",
    "Disks",
    "EventHandler",
    "FakeDisks",
    "Mount",
    "Mounts",
    "UdevDisks",
    "system_disks",
]
