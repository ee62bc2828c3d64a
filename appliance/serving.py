"""`hearth serve`: one asyncio process that serves until SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Sequence

from aiohttp import web

from appliance import __version__, keys
from appliance.app import create_app
from appliance.lan import on_the_lan
from appliance.platform import Platform
from appliance.platform.systemd import listen_sockets
from appliance.services import Service
from appliance.settings import Settings
from appliance.web.connections import GatedRunner, connection_cap

logger = logging.getLogger(__name__)

# SIGTERM must end the process within 5 s: in-flight requests get 3 s, then the store
# commits what is pending and closes.
SHUTDOWN_GRACE = 3.0


async def _start_http(runner: web.AppRunner, settings: Settings,
                      sockets: list[socket.socket]) -> tuple[str, int]:
    """Listen on the sockets systemd passed, else on host:port; return where and the port."""
    for sock in sockets:
        await web.SockSite(runner, sock).start()
    if sockets:
        names = ", ".join(str(s.getsockname()[:2]) for s in sockets)
        return f"http on the sockets systemd passed ({names})", int(sockets[0].getsockname()[1])
    await web.TCPSite(runner, settings.host, settings.port).start()
    return f"http://{settings.host}:{settings.port}/", settings.port


async def serve(settings: Settings, *, platform: Platform | None = None,
                services: Sequence[Service] | None = None) -> None:
    """Serve until SIGTERM or SIGINT; READY goes out only once the port listens."""
    started = time.monotonic()
    app = create_app(settings, platform=platform, services=services)
    notifier = app[keys.PLATFORM].notifier
    runner = GatedRunner(app, cap=connection_cap(), shutdown_timeout=SHUTDOWN_GRACE,
                         access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    inherited = listen_sockets()
    try:
        where, port = await _start_http(runner, settings, inherited.get("http", []))
        name = app[keys.CORE].owner.name
        async with on_the_lan(app[keys.LAN], runner, settings, name, port,
                              inherited.get("https", []), activated=bool(inherited)) as lan:
            if lan.https:
                where += f" and https on port {lan.https_port}"
            logger.info("Hearth %s serves %s (data in %s), ready in %.2f s", __version__,
                        where, settings.data, time.monotonic() - started)
            notifier.status(f"Serving {where}")
            notifier.ready()
            await stop.wait()
            logger.info("stopping")
            notifier.stopping()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    logger.info("stopped")
