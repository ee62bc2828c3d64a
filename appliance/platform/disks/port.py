"""The Disks port: what the daemon asks of the disks, and the events it hears from them."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from appliance.platform.disks.model import Disk

logger = logging.getLogger(__name__)
ADDED, CHANGED, REMOVED = "added", "changed", "removed"

EventHandler = Callable[[str, Disk], None]


class Closeable(Protocol):
    """Something to close when done, such as a running watch."""

    def close(self) -> None:
        """Stop and release what it holds; calling it again does nothing."""


class Disks(Protocol):
    """The disks plugged into the box.

    A Disk is a whole disk, or a partition that holds a filesystem. `watch` first
    reports every disk already present as "added" (so that nothing plugged in
    between a `list` and a `watch` is missed), then "added", "changed" and
    "removed" as they happen; "removed" carries the last Disk seen. The handler
    is called on the event loop that called `watch`. `list` blocks on the system
    (statvfs of mounted disks): call it through `asyncio.to_thread`.

    The app watches once, through DiskEvents, and hands the events to every part
    that subscribes there.
    """

    def list(self) -> list[Disk]:
        """Return the disks plugged in now."""

    def watch(self, on_event: EventHandler) -> Closeable:
        """Call `on_event(action, disk)` for each disk event until closed."""


def deliver(on_event: EventHandler, action: str, disk: Disk) -> None:
    """Call `on_event(action, disk)`; a failure is logged, never passed on to the watch."""
    try:
        on_event(action, disk)
    except Exception:
        logger.exception("handling %s %s failed", action, disk.device)
