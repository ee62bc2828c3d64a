"""What runs while the app runs: one cleanup context per resource, set up then torn down.

create_app appends them in order: the core (the store) first, so that the disks'
watch, the watchdog, backups and connector runs all stop before it closes.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from appliance import keys
from appliance.backup.box.backupbox import BackupBox
from appliance.backup.box.backupplan import PlanError
from appliance.backup.box.triggers import on_plug, run_schedule
from appliance.core import Core, open_core
from appliance.datadisk.keeper import DataDisk
from appliance.datadisk.problems import MISSING
from appliance.jobs import registry
from appliance.jobs.scheduler import Scheduler
from appliance.keyring import Keyring
from appliance.platform.disks import Disk
from appliance.platform.systemd import watchdog_loop

logger = logging.getLogger(__name__)


async def core_ctx(app: web.Application) -> AsyncIterator[None]:
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


async def disks_ctx(app: web.Application) -> AsyncIterator[None]:
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


async def watchdog_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(watchdog_loop(app[keys.PLATFORM].notifier))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def backups_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run scheduled and plug-in backups while the app runs; interrupt one cleanly at stop."""
    box = BackupBox(app[keys.SETTINGS], app[keys.PLATFORM], lambda: app[keys.CORE])
    app[keys.BACKUPS] = box
    try:
        await box.load()
    except PlanError as exc:
        logger.error("%s", exc)
    wake = asyncio.Event()
    loop = asyncio.create_task(run_schedule(box, wake))

    def plugged(action: str, disk: Disk) -> None:
        on_plug(box, action, disk)
    watch = app[keys.DISK_EVENTS].subscribe(plugged)
    try:
        yield
    finally:
        watch.close()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await box.stop()


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the scheduler once the core is open; stop every run before the core closes."""
    settings = app[keys.SETTINGS]
    entries = await asyncio.to_thread(registry.discover)
    logger.info("connectors installed: %s", ", ".join(entries) or "none")

    def core() -> Core | None:
        return app.get(keys.CORE)

    scheduler = Scheduler(core, keyring=Keyring(settings.system), entries=lambda: entries,
                          max_runs=settings.max_connector_runs)
    app[keys.SCHEDULER] = scheduler
    await scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
