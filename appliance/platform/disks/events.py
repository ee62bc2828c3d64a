"""DiskEvents: the box's one watch on its disks, its events handed to every subscriber."""
from __future__ import annotations

from dataclasses import dataclass

from appliance.platform.disks.model import Disk
from appliance.platform.disks.port import (
    ADDED,
    REMOVED,
    Closeable,
    Disks,
    EventHandler,
    deliver,
)


class DiskEvents:
    """One watch on the disks (one udev monitor, one thread), fanned out to subscribers.

    The app starts it once and closes it once; the data disk and backups subscribe.
    A subscriber hears what `Disks.watch` promises: first every disk known so far as
    "added", then each event as it happens, on the event loop. One subscriber's
    failure is logged and never keeps the event from the others.
    """

    def __init__(self, disks: Disks) -> None:
        self._disks = disks
        self._known: dict[str, Disk] = {}
        self._subscribers: list[EventHandler] = []
        self._watch: Closeable | None = None

    def start(self) -> None:
        """Start watching the disks (on the running loop); starting again does nothing."""
        if self._watch is None:
            self._watch = self._disks.watch(self._fan_out)

    def close(self) -> None:
        """Stop watching; no subscriber hears anything more."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self._subscribers.clear()
        self._known.clear()

    def subscribe(self, on_event: EventHandler) -> Closeable:
        """Call `on_event(action, disk)` for the disks known now, then each event, until closed."""
        for disk in list(self._known.values()):
            deliver(on_event, ADDED, disk)
        self._subscribers.append(on_event)
        return _Subscription(self._subscribers, on_event)

    def _fan_out(self, action: str, disk: Disk) -> None:
        if action == REMOVED:
            self._known.pop(disk.device, None)
        else:
            self._known[disk.device] = disk
        for on_event in list(self._subscribers):
            deliver(on_event, action, disk)


@dataclass
class _Subscription:
    subscribers: list[EventHandler]
    on_event: EventHandler

    def close(self) -> None:
        if self.on_event in self.subscribers:
            self.subscribers.remove(self.on_event)
