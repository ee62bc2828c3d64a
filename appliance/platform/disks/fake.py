"""FakeDisks: disks set by a test, for the fast tests of what sits above the adapter."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from appliance.platform.disks.model import Disk
from appliance.platform.disks.port import ADDED, CHANGED, REMOVED, Closeable, EventHandler


class FakeDisks:
    """Disks for tests of what sits above the adapter: set `disks`, then `emit` events.

    Unlike UdevDisks, handlers are called at once, from `watch` and `emit`.
    """

    def __init__(self, disks: Iterable[Disk] = ()) -> None:
        self.disks = list(disks)
        self.handlers: list[EventHandler] = []

    def list(self) -> list[Disk]:
        """Return the disks set so far."""
        return list(self.disks)

    def watch(self, on_event: EventHandler) -> Closeable:
        """Report the disks present as "added", then every `emit`, until closed."""
        self.handlers.append(on_event)
        for disk in self.list():
            on_event(ADDED, disk)
        return _FakeWatch(self, on_event)

    def emit(self, action: str, disk: Disk) -> None:
        """Update the list as `action` says and tell every watcher."""
        if action not in (ADDED, CHANGED, REMOVED):
            raise ValueError(f"unknown disk event {action!r}: use added, changed or removed")
        self.disks = [d for d in self.disks if d.device != disk.device]
        if action != REMOVED:
            self.disks.append(disk)
        for handler in list(self.handlers):
            handler(action, disk)


@dataclass
class _FakeWatch:
    disks: FakeDisks
    handler: EventHandler

    def close(self) -> None:
        if self.handler in self.disks.handlers:
            self.disks.handlers.remove(self.handler)
