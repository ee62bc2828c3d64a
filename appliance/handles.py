"""The handles create_app puts in each service's context: nothing else of the app leaks."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping, Sequence

from aiohttp import web

from appliance import keys
from appliance.backup.box.backupbox import BackupBox
from appliance.jobs.scheduler import Scheduler
from appliance.platform.disks import Disk
from appliance.services import Installed, Service, ServiceContext, ToolsFolder
from appliance.store import Collection


class OwnCollections(Mapping[str, Collection]):
    """A service's own collections, reachable once the store is open."""

    def __init__(self, app: web.Application, names: Sequence[str]) -> None:
        self._app = app
        self._names = tuple(names)

    def __getitem__(self, name: str) -> Collection:
        if name not in self._names:
            raise KeyError(f"{name} is not one of this service's doctypes")
        return self._app[keys.CORE].collections[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class PlatformDisks:
    """The platform's disks as a service sees them: listed, never mounted or formatted."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def plugged(self) -> list[Disk]:
        """Return the disks plugged in now."""
        return await asyncio.to_thread(self._app[keys.PLATFORM].disks.list)

    def privileged(self) -> bool:
        """Return True if a privileged helper mounts disks (False: folders stand in for them)."""
        return self._app[keys.PLATFORM].helper is not None

    def data_disk_uuid(self) -> str | None:
        """Return the UUID of the disk chosen as the data disk (None: a plain folder)."""
        choice = self._app[keys.DATADISK].choice
        return choice.uuid if choice is not None else None


def context_for(app: web.Application, service: Service,
                installed: tuple[Installed, ...]) -> ServiceContext:
    """Return the narrow context `service` is built with."""

    async def notify(kind: str, title: str, body: str) -> object:
        return await app[keys.CORE].notifications.add(f"{service.id}.{kind}", title, body)

    def scheduler() -> Scheduler | None:
        return app.get(keys.SCHEDULER)

    def backups() -> BackupBox | None:
        return app.get(keys.BACKUPS)

    settings = app[keys.SETTINGS]
    return ServiceContext(
        collections=OwnCollections(app, [d.name for d in service.doctypes]),
        drive=lambda: app[keys.CORE].files,
        notify=notify,
        scheduler=scheduler,
        backups=backups,
        disks=PlatformDisks(app),
        tools=ToolsFolder(settings.system, settings.woob_repository),
        installed=installed,
        logger=logging.getLogger(f"hearth.service.{service.id}"),
        clock=app[keys.PLATFORM].clock,
    )
