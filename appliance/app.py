"""create_app: the one place where Hearth is put together."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

from aiohttp import web

from appliance import api, keys
from appliance.auth.guard import guard
from appliance.auth.throttle import LoginThrottle
from appliance.backup.box.triggers import backup_ctx
from appliance.core import Core, open_core
from appliance.datadisk import MISSING, DataDisk
from appliance.jobs import scheduler_ctx
from appliance.lan import Lan
from appliance.platform import Platform
from appliance.platform.disks import Disk
from appliance.platform.systemd import watchdog_loop
from appliance.services import Service, ServiceContext, discover
from appliance.settings import Settings
from appliance.store import Collection
from appliance.web import https_page, move_page, pages, settings_page, storage_page
from appliance.i18n import Catalogs
from appliance.web.shell import setup_templates

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


class _Collections(Mapping[str, Collection]):
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


async def _core_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, services = app[keys.SETTINGS], app[keys.SERVICES]
    platform = app[keys.PLATFORM]
    datadisk = DataDisk(settings, platform.disks, platform.helper)
    app[keys.DATADISK] = datadisk
    data_dir, problem = await datadisk.locate()
    if data_dir is None:
        # The data disk is away: serve the page that says so from an empty standby
        # store until it is back.
        core: Core = await open_core(settings, services, data_dir=settings.system / "standby")
        await core.detach(problem or MISSING)
        logger.warning("the data disk is out of reach: %s", problem)
    else:
        core = await open_core(settings, services, data_dir=data_dir)
    app[keys.CORE] = core
    if core.available:
        purged = await core.sessions.purge_expired()
        if purged:
            logger.info("%d expired sessions removed", purged)
    # Files changed behind Hearth's back (the disk edited on a PC) are picked up in the
    # background: READY does not wait for a walk of the whole disk.
    rescan = asyncio.create_task(_rescan(core))
    try:
        yield
    finally:
        rescan.cancel()
        await asyncio.gather(rescan, return_exceptions=True)
        await core.close()  # commits every acknowledged write before the process ends


async def _rescan(core: Core) -> None:
    if not core.available:
        return
    try:
        report = await core.files.rescan()
    except Exception:  # a damaged tree must not stop the box; the Drive's rescan retries
        logger.exception("the start-up rescan of the files failed")
        return
    logger.info("files rescanned: %s", report)


async def _disks_ctx(app: web.Application) -> AsyncIterator[None]:
    datadisk, core = app[keys.DATADISK], app[keys.CORE]
    pending: set[asyncio.Task[None]] = set()

    def on_event(action: str, disk: Disk) -> None:
        task = asyncio.create_task(datadisk.on_event(core, action, disk))
        pending.add(task)
        task.add_done_callback(pending.discard)
    watch = app[keys.PLATFORM].disks.watch(on_event)
    yield
    watch.close()
    for task in list(pending):
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _watchdog_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(watchdog_loop(app[keys.PLATFORM].notifier))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _mount(app: web.Application, service: Service) -> None:
    if service.routes is None:
        return

    async def notify(kind: str, title: str, body: str) -> object:
        return await app[keys.CORE].notifications.add(f"{service.id}.{kind}", title, body)

    ctx = ServiceContext(
        collections=_Collections(app, [d.name for d in service.doctypes]),
        files_dir=lambda: app[keys.CORE].data_dir / "files" / service.id,
        drive=lambda: app[keys.CORE].files,
        notify=notify,
        logger=logging.getLogger(f"hearth.service.{service.id}"),
        clock=time.time,
    )
    app.add_subapp(service.prefix, service.routes(ctx))


def create_app(settings: Settings, *, platform: Platform | None = None,
               services: Sequence[Service] | None = None) -> web.Application:
    """Return the Hearth web application, with every route registered."""
    app = web.Application(middlewares=[guard],
                          client_max_size=settings.max_body_kb * 1024)
    app[keys.SETTINGS] = settings
    app[keys.PLATFORM] = platform if platform is not None else Platform.for_settings(settings)
    app[keys.SERVICES] = tuple(services) if services is not None else discover()
    app[keys.THROTTLE] = LoginThrottle()
    app[keys.CATALOGS] = Catalogs()
    app[keys.LAN] = Lan()
    setup_templates(app, tuple(s.templates for s in app[keys.SERVICES] if s.templates))
    app.router.add_routes(pages.routes)
    app.router.add_routes(settings_page.routes)
    app.router.add_routes(storage_page.routes)
    app.router.add_routes(https_page.routes)
    app.router.add_routes(move_page.routes)
    app.router.add_routes(api.routes)
    app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)
    for service in app[keys.SERVICES]:
        _mount(app, service)
    app.cleanup_ctx.append(_core_ctx)
    app.cleanup_ctx.append(_disks_ctx)
    app.cleanup_ctx.append(_watchdog_ctx)
    app.cleanup_ctx.append(backup_ctx)  # after the core's: a run is interrupted before it closes
    app.cleanup_ctx.append(scheduler_ctx)  # after the core's: every run stops before it closes
    return app
