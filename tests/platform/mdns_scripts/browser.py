"""A computer on the home network asking mDNS questions, as a user's browser would."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import zeroconf
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from tests.platform.mdns_scripts import serve


@asynccontextmanager
async def fresh() -> AsyncIterator[AsyncZeroconf]:
    """A zeroconf with an empty cache, so every answer comes from the network now."""
    zc = AsyncZeroconf(ip_version=IPVersion.All)
    try:
        yield zc
    finally:
        await zc.async_close()


async def resolve(host: str, timeout_ms: int = 1000) -> dict[str, Any]:
    """Ask who answers for `host` (e.g. "hearth.local.") and return its addresses."""
    async with fresh() as zc:
        if hasattr(zeroconf, "AddressResolver"):  # zeroconf >= 0.113
            info: AsyncServiceInfo = zeroconf.AddressResolver(host)
        else:  # a service nobody offers, asked for along with its host's addresses
            kind = "_hearth-probe._tcp.local."
            info = AsyncServiceInfo(kind, f"probe.{kind}", server=host)
        await info.async_request(zc.zeroconf, timeout_ms)
        return {"addresses": sorted(info.parsed_addresses())}


async def service(type: str, name: str, timeout_ms: int = 2000) -> dict[str, Any]:
    """Look a service instance up and return what a browser would use to open it."""
    async with fresh() as zc:
        info = AsyncServiceInfo(type, name)
        if not await info.async_request(zc.zeroconf, timeout_ms):
            return {"found": False}
        properties = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        return {"found": True, "port": info.port, "server": info.server,
                "properties": properties, "addresses": sorted(info.parsed_addresses())}


class Watcher:
    """A long-lived zeroconf: a service browser, like a Bonjour list in a file manager,
    and the services this computer announces of its own."""

    def __init__(self) -> None:
        self.zc: AsyncZeroconf | None = None
        self.browser: AsyncServiceBrowser | None = None
        self.names: set[str] = set()

    def _zeroconf(self) -> AsyncZeroconf:
        if self.zc is None:
            self.zc = AsyncZeroconf(ip_version=IPVersion.All)
        return self.zc

    async def announce(self, type: str, name: str, server: str, address: str) -> dict[str, Any]:
        """Announce a service of this computer's, answering for `server` too."""
        info = AsyncServiceInfo(type, name, port=22, server=server, parsed_addresses=[address])
        await (await self._zeroconf().async_register_service(info))
        return {}

    def changed(self, zeroconf: Zeroconf, service_type: str, name: str,
                state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            self.names.discard(name)
        else:
            self.names.add(name)

    async def watch(self, type: str) -> dict[str, Any]:
        self.browser = AsyncServiceBrowser(self._zeroconf().zeroconf, [type],
                                           handlers=[self.changed])
        return {}

    async def seen(self) -> dict[str, Any]:
        return {"names": sorted(self.names)}

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.async_cancel()
        if self.zc is not None:
            await self.zc.async_close()


async def main() -> None:
    watcher = Watcher()
    try:
        await serve({"resolve": resolve, "service": service, "watch": watcher.watch,
                     "seen": watcher.seen, "announce": watcher.announce})
    finally:
        await watcher.close()


if __name__ == "__main__":
    asyncio.run(main())
