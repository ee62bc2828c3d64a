"""create_app: the one place where Hearth is put together."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from aiohttp import web

from appliance import api, keys
from appliance.auth.guard import guard
from appliance.auth.throttle import LoginThrottle
from appliance.backup.box.triggers import backup_ctx
from appliance.core import Core, open_core
from appliance.datadisk.keeper import DataDisk
from appliance.datadisk.problems import MISSING
from appliance.handles import context_for
from appliance.jobs import scheduler_ctx
from appliance.lan import Lan
from appliance.platform import Platform
from appliance.platform.disks import Disk, DiskEvents
from appliance.platform.systemd import watchdog_loop
from appliance.services import Service, discover
from appliance.settings import Settings
from appliance.web import https_page, move_page, pages, settings_page, storage_page
from appliance.i18n import Catalogs
from appliance.web.errors import errors
from appliance.web.shell import setup_templates

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


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
    """Watch the disks once for the whole box; the data disk is the first to subscribe."""
    events, datadisk, core = app[keys.DISK_EVENTS], app[keys.DATADISK], app[keys.CORE]
    pending: set[asyncio.Task[None]] = set()

    def on_event(action: str, disk: Disk) -> None:
        task = asyncio.create_task(datadisk.on_event(core, action, disk))
        pending.add(task)
        task.add_done_callback(pending.discard)
    events.start()
    events.subscribe(on_event)
    yield
    events.close()  # the one watch stops; backups' context has already let go of it
    for task in list(pending):
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _watchdog_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(watchdog_loop(app[keys.PLATFORM].notifier))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, *, platform: Platform | None = None,
               services: Sequence[Service] | None = None) -> web.Application:
    """Return the Hearth web application, with every route registered."""
    # errors first: it answers what the guard and the handlers refuse or fail
    app = web.Application(middlewares=[errors, guard],
                          client_max_size=settings.max_body_kb * 1024)
    app[keys.SETTINGS] = settings
    app[keys.PLATFORM] = platform if platform is not None else Platform.for_settings(settings)
    app[keys.DISK_EVENTS] = DiskEvents(app[keys.PLATFORM].disks)
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
    installed = tuple(s.as_installed() for s in app[keys.SERVICES])
    for service in app[keys.SERVICES]:
        if service.routes is not None:
            app.add_subapp(service.prefix, service.routes(context_for(app, service, installed)))
    app.cleanup_ctx.append(_core_ctx)
    app.cleanup_ctx.append(_disks_ctx)  # before backups': they subscribe to its events
    app.cleanup_ctx.append(_watchdog_ctx)
    app.cleanup_ctx.append(backup_ctx)  # after the core's: a run is interrupted before it closes
    app.cleanup_ctx.append(scheduler_ctx)  # after the core's: every run stops before it closes
    return app
