"""The scheduler inside the daemon: started and stopped with the app (cleanup_ctx)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from appliance import keys
from appliance.core import Core
from appliance.jobs import registry
from appliance.jobs.scheduler import Scheduler
from appliance.keyring import Keyring

logger = logging.getLogger(__name__)

# Services reach the scheduler through their context (appliance.handles).
SCHEDULER = web.AppKey("connector_scheduler", Scheduler)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the scheduler once the core is open; stop every run before the core closes."""
    settings = app[keys.SETTINGS]
    entries = await asyncio.to_thread(registry.discover)
    logger.info("connectors installed: %s", ", ".join(entries) or "none")

    def core() -> Core | None:
        return app.get(keys.CORE)

    scheduler = Scheduler(core, keyring=Keyring(settings.system), entries=lambda: entries,
                          max_runs=settings.max_connector_runs)
    app[SCHEDULER] = scheduler
    await scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
