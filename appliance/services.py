"""The service contract: what a service declares and the narrow context it gets."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from appliance.doctypes import Doctype

if TYPE_CHECKING:
    # Types only: the context's handles are built by appliance.app, a layer above this one.
    from appliance.backup.box.backupbox import BackupBox
    from appliance.files import FileTree
    from appliance.jobs.scheduler import Scheduler
    from appliance.platform.disks import Disk
    from appliance.store import Collection

Notify = Callable[[str, str, str], Awaitable[object]]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hearth.services"


@dataclass(frozen=True)
class Installed:
    """Another service on this box, as a page may link to it."""

    id: str
    name: str
    icon: str
    prefix: str | None  # None: it has no pages of its own


class DiskView(Protocol):
    """The disks a service may look at (the backup service chooses its disk among them)."""

    async def plugged(self) -> list[Disk]:
        """Return the disks plugged in now."""

    def privileged(self) -> bool:
        """Return True if a privileged helper mounts disks (False: folders stand in for them)."""

    def data_disk_uuid(self) -> str | None:
        """Return the UUID of the disk chosen as the data disk (None: a plain folder)."""


@dataclass(frozen=True)
class ToolsFolder:
    """Where box-wide tools a service installs live: the system side, never the data disk."""

    system: Path  # woob keeps its modules and keyrings in system/woob
    woob_repository: str  # where woob modules are installed from


@dataclass(frozen=True)
class ServiceContext:
    """Everything a service may use; it never sees the app, the settings or the core.

    Objects that exist only once the box has started (the store, the scheduler,
    the backup box) are reached through callables, called per request.

    - `collections`: its own doctypes only; any other name raises KeyError.
    - `drive()`: the owner's file tree (it follows the data disk).
    - `notify(kind, title, body)`: tells the owner something in the notifications area.
    - `scheduler()`: the connector scheduler, None while it is not running.
    - `backups()`: the backup box (its plan, status and tasks), None while it is not running.
    - `disks`: the disks plugged in, whether a helper mounts them, the data disk's UUID.
    - `tools`: the system-side folder for box-wide tools (woob's modules).
    - `installed`: every service on this box, itself included, in menu order.
    """

    collections: Mapping[str, Collection]
    drive: Callable[[], FileTree]
    notify: Notify
    scheduler: Callable[[], Scheduler | None]
    backups: Callable[[], BackupBox | None]
    disks: DiskView
    tools: ToolsFolder
    installed: tuple[Installed, ...]
    logger: logging.Logger
    clock: Callable[[], float]

    def find(self, service_id: str) -> Installed | None:
        """Return the installed service with this id, or None."""
        return next((s for s in self.installed if s.id == service_id), None)


@dataclass(frozen=True)
class Service:
    """A service declares itself; nothing runs at import or construction time.

    `routes(ctx)` builds the sub-application mounted under `prefix`; its
    handlers render templates from `templates` (a package with a templates/
    folder) inside the UI shell. `doctypes` are the collections it owns and the
    only ones its context exposes. docs/services.md shows a whole service.
    """

    id: str
    name: str
    description: str
    icon: str
    routes: Callable[[ServiceContext], web.Application] | None = None
    doctypes: tuple[Doctype, ...] = ()
    templates: str | None = None
    order: int = 100
    mount: str | None = None  # a prefix other than /apps/<id>/ (WebDAV lives at /dav/)

    @property
    def prefix(self) -> str:
        """Return the URL prefix the service's routes are mounted under."""
        return self.mount or f"/apps/{self.id}/"

    def as_installed(self) -> Installed:
        """Return how other services see this one."""
        return Installed(self.id, self.name, self.icon,
                         self.prefix if self.routes is not None else None)


def discover() -> tuple[Service, ...]:
    """Return the services installed through the `hearth.services` entry point group."""
    found: dict[str, Service] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
        except Exception:  # a broken third-party service must not stop the box
            logger.exception("service %s could not be loaded; it is left out", ep.name)
            continue
        if not isinstance(spec, Service):
            logger.error("entry point %s is not a Service; it is left out", ep.value)
            continue
        if spec.id in found:
            logger.error("two services claim the id %r; keeping the first", spec.id)
            continue
        found[spec.id] = spec
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.id)))
