"""The box on the LAN: found by name (mDNS) and reached over HTTPS with its own CA."""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from appliance import __version__
from appliance.platform.announcer import Announcer, NullAnnouncer, watch_addresses
from appliance.platform.network import local_addresses
from appliance.platform.certs import CertError, CertFiles, LiveContext, renew_loop
from appliance.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Lan:
    """What the LAN sees of the box; the daemon fills it in once it serves."""

    announcer: Announcer = field(default_factory=NullAnnouncer)
    certs: CertFiles | None = None
    https_port: int | None = None
    http_port: int | None = None
    live: LiveContext | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def https(self) -> bool:
        """Return whether HTTPS is served."""
        return self.live is not None

    async def rename(self, name: str) -> None:
        """Announce the box under its new name and re-issue its certificate."""
        if isinstance(self.announcer, NullAnnouncer):
            self.announcer = NullAnnouncer(name)
            return
        await self.announcer.stop()
        from appliance.platform.mdns import ZeroconfAnnouncer  # zeroconf only when announcing
        self.announcer = ZeroconfAnnouncer(name, http_port=self.http_port or 80,
                                           https_port=self.https_port, version=__version__)
        await self.announcer.start()
        if self.certs is not None and self.live is not None:
            certs, live = self.certs, self.live
            addresses = await asyncio.to_thread(local_addresses)
            if await certs.ensure(self.announcer.hostname, addresses):
                live.swap(await asyncio.to_thread(certs.ssl_context))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _serve_https(lan: Lan, runner: web.AppRunner, settings: Settings,
                       sockets: list[socket.socket]) -> None:
    assert lan.certs is not None
    live = LiveContext(await asyncio.to_thread(lan.certs.ssl_context))
    if sockets:
        for sock in sockets:
            await web.SockSite(runner, sock, ssl_context=live.context).start()
        lan.https_port = int(sockets[0].getsockname()[1])
    else:
        await web.TCPSite(runner, settings.host, settings.https_port,
                          ssl_context=live.context).start()
        lan.https_port = settings.https_port
    lan.live = live


@contextlib.asynccontextmanager
async def on_the_lan(lan: Lan, runner: web.AppRunner, settings: Settings, name: str,
                     http_port: int, https_sockets: list[socket.socket],
                     activated: bool) -> AsyncIterator[Lan]:
    """Serve HTTPS and announce the box by name until the block ends."""
    lan.http_port = http_port
    if https_sockets or settings.https_port:
        lan.certs = CertFiles(settings.system / "tls")
        try:
            await lan.certs.ensure(name, await asyncio.to_thread(local_addresses))
            await _serve_https(lan, runner, settings, https_sockets)
        except CertError as exc:  # e.g. the clock is not set yet: renewal retries, then serves
            logger.warning("HTTPS is off for now: %s", exc)
        except OSError as exc:
            logger.error("HTTPS is off: port %s can't be used (%s); pick another with "
                         "--https-port", settings.https_port, exc.strerror)
            lan.certs = None
    if activated or not _loopback(settings.host):
        from appliance.platform.mdns import ZeroconfAnnouncer  # zeroconf only when announcing
        lan.announcer = ZeroconfAnnouncer(name, http_port=http_port, https_port=lan.https_port,
                                          version=__version__)
    else:
        lan.announcer = NullAnnouncer(name)  # a developer's machine: nobody to tell

    async def announce() -> None:
        await lan.announcer.start()
        await watch_addresses(lan.announcer)

    async def reload() -> None:
        if lan.live is None:
            await _serve_https(lan, runner, settings, https_sockets)
        elif lan.certs is not None:
            lan.live.swap(await asyncio.to_thread(lan.certs.ssl_context))
    lan._tasks.append(asyncio.create_task(announce()))
    if lan.certs is not None:
        lan._tasks.append(asyncio.create_task(renew_loop(
            lan.certs.ensure, lambda: lan.announcer.hostname, local_addresses, reload)))
    try:
        yield lan
    finally:
        for task in lan._tasks:
            task.cancel()
        await asyncio.gather(*lan._tasks, return_exceptions=True)
        await lan.announcer.stop()
