"""The udev monitor thread: disk events read from netlink, handed to the asyncio loop."""
from __future__ import annotations

import asyncio
import logging
import os
import selectors
import threading
from dataclasses import replace
from typing import Any, Protocol

import pyudev

from appliance.platform.disks.model import Disk
from appliance.platform.disks.port import ADDED, CHANGED, REMOVED, EventHandler, deliver

logger = logging.getLogger(__name__)
THREAD_NAME = "hearth-disks"  # the monitor thread's name, as `ps -L` and the tests see it


class UdevSource(Protocol):
    """What the watch asks of the udev adapter (UdevDisks)."""

    @property
    def context(self) -> Any:
        """Return the pyudev context."""

    def list(self) -> list[Disk]:
        """Return the disks plugged in now."""

    def disk_now(self, device: Any) -> Disk | None:
        """Return the Disk for a udev block device as mounted now, or None."""


class UdevWatch:
    """A pyudev monitor in its own thread, handing disk events to the asyncio loop.

    udev may announce a partition before it has probed its filesystem (no ID_FS_TYPE,
    no ID_FS_UUID yet): it is not a Disk then, and is reported as "added" only when
    the "change" that follows the probe makes it one.
    """

    def __init__(self, disks: UdevSource, on_event: EventHandler,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._disks, self._on_event, self._loop = disks, on_event, loop
        self._monitor = pyudev.Monitor.from_netlink(disks.context, source="udev")
        self._monitor.filter_by("block")
        self._monitor.start()  # from here on, events queue up in the netlink socket
        self._wake_read, self._wake_write = os.pipe()
        self._known: dict[str, Disk] = {}
        # Set once what was plugged in before the watch has been reported.
        self.listed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
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
        disk = None if device.action == "remove" else self._disks.disk_now(device)
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
        deliver(self._on_event, action, disk)
