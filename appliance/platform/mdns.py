"""Make the box findable as http://<name>.local: mDNS host records and DNS-SD web services."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Sequence
from typing import TypeAlias

from zeroconf import InterfaceChoice, IPVersion, NonUniqueNameException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from appliance.platform.network import address_order, host_label, local_addresses

logger = logging.getLogger(__name__)

HTTP_TYPE = "_http._tcp.local."
HTTPS_TYPE = "_https._tcp.local."
PROBE_MS = 1000  # how long to listen for another device answering for a name
MAX_SUFFIX = 10  # hearth, hearth-2, … hearth-10
Interfaces: TypeAlias = "InterfaceChoice | Sequence[str | int]"



class ZeroconfAnnouncer:
    """Announce ``<name>.local`` (A/AAAA), ``_http._tcp`` and ``_https._tcp`` with python-zeroconf.

    Only zeroconf's asyncio API that Debian bookworm's 0.47 shares with current
    releases is used. Unless told `interfaces`, zeroconf listens and answers on the
    interfaces that carry the announced addresses (so not on loopback). A change of
    addresses closes zeroconf and opens it again on the box's addresses of now.
    """

    def __init__(self, name: str, *, http_port: int, https_port: int | None, version: str,
                 addresses: Callable[[], list[str]] | None = None,
                 interfaces: Interfaces | None = None) -> None:
        self._wanted = host_label(name)
        self._held = self._wanted
        self._conflict: str | None = None
        self._ports = [(HTTP_TYPE, http_port)] + (
            [(HTTPS_TYPE, https_port)] if https_port is not None else [])
        self._version = version
        self._read = addresses if addresses is not None else local_addresses
        self._interfaces = interfaces
        self._zc: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []
        self._announced: tuple[str, ...] = ()
        self._running = False
        self._problem: str | None = None
        self._lock = asyncio.Lock()

    @property
    def hostname(self) -> str:
        """Return the name held on the network, without ".local" (e.g. "hearth-2")."""
        return self._held

    @property
    def conflict(self) -> str | None:
        """Return the name asked for when another device already held it, else None."""
        return self._conflict

    async def start(self) -> None:
        """Claim a name and announce the box on every interface that has an address."""
        async with self._lock:
            self._running = True
            addresses = await self._addresses()
            if addresses is not None:
                await self._announce(addresses)

    async def refresh(self) -> None:
        """Re-read the box's addresses and announce again if they changed."""
        async with self._lock:
            if not self._running:
                return
            addresses = await self._addresses()
            if addresses is not None and (self._zc is None or addresses != self._announced):
                await self._announce(addresses)

    async def stop(self) -> None:
        """Say goodbye for every record, so browsers drop the box now, and close zeroconf."""
        async with self._lock:
            self._running = False
            await self._withdraw()

    async def _addresses(self) -> tuple[str, ...] | None:
        """Return the box's addresses, sorted, or None when they can't be read."""
        try:
            found = await asyncio.to_thread(self._read)
        except OSError as exc:
            self._report(f"can't read the box's network addresses ({exc}); "
                         f"{self._held}.local stays as it was announced")
            return None
        return tuple(sorted({str(ipaddress.ip_address(a)) for a in found}, key=address_order))

    async def _announce(self, addresses: tuple[str, ...]) -> None:
        await self._withdraw()
        if not addresses:
            self._report(f"the box has no network address; {self._wanted}.local will be "
                         "announced as soon as it gets one")
            return
        try:
            self._zc = AsyncZeroconf(interfaces=self._interfaces_for(addresses),
                                     ip_version=_ip_version(addresses))
            held, self._infos = await self._claim(self._zc, addresses)
        # zeroconf raises RuntimeError when it finds no interface to listen on.
        except (OSError, RuntimeError, NameUnavailable) as exc:
            await self._withdraw()
            self._report(f"can't announce {self._wanted}.local on the local network ({exc}); "
                         "the box stays reachable at its IP address and will try again")
            return
        self._announced, self._problem = addresses, None
        self._held = held
        conflict = self._wanted if held != self._wanted else None
        if conflict is not None and conflict != self._conflict:
            logger.warning("another device on the network already answers to %s.local, so this "
                           "box is %s instead; to get %s.local back, rename or switch off the "
                           "other device, then restart this box",
                           conflict, self._url(held), conflict)
        self._conflict = conflict
        logger.info("announced %s at %s", self._url(held), ", ".join(addresses))

    def _url(self, name: str) -> str:
        port = self._ports[0][1]
        return f"http://{name}.local/" if port == 80 else f"http://{name}.local:{port}/"

    def _interfaces_for(self, addresses: tuple[str, ...]) -> Interfaces:
        chosen = addresses if self._interfaces is None else self._interfaces
        # zeroconf 0.47 takes a list, and only a list, of addresses or indexes.
        return chosen if isinstance(chosen, InterfaceChoice) else list(chosen)

    async def _claim(self, zc: AsyncZeroconf, addresses: tuple[str, ...]
                     ) -> tuple[str, list[AsyncServiceInfo]]:
        """Return the first free name and its registered services.

        The name held so far is tried first, so that a re-announce keeps it.
        """
        names = [self._wanted] + [_with_suffix(self._wanted, n) for n in range(2, MAX_SUFFIX + 1)]
        names.sort(key=lambda name: name != self._held)
        for name in names:
            if await _answered_by_another(zc, name, addresses):
                logger.debug("%s.local is taken on the network", name)
                continue
            infos = [AsyncServiceInfo(type_, f"{_instance(name)}.{type_}", port=port,
                                      properties={"path": "/", "version": self._version},
                                      server=f"{name}.local.", parsed_addresses=list(addresses))
                     for type_, port in self._ports]
            if await _register(zc, infos):
                return name, infos
        raise NameUnavailable(f"{names[0]}.local to {names[-1]}.local are all taken")

    async def _withdraw(self) -> None:
        zc, infos = self._zc, self._infos
        self._zc, self._infos, self._announced = None, [], ()
        if zc is None:
            return
        try:
            await _unregister(zc, infos)
        finally:
            await zc.async_close()

    def _report(self, problem: str) -> None:
        """Log a problem once, not again at every refresh while it lasts."""
        if problem != self._problem:
            logger.warning("%s", problem)
        self._problem = problem


class NameUnavailable(Exception):
    """Every name the box may take is already answered for by other devices."""


async def _answered_by_another(zc: AsyncZeroconf, name: str, mine: Sequence[str]) -> bool:
    """Return whether another device answers for <name>.local or for its web service's name."""
    probe = AsyncServiceInfo(HTTP_TYPE, f"{_instance(name)}.{HTTP_TYPE}", server=f"{name}.local.")
    await probe.async_request(zc.zeroconf, PROBE_MS)
    # Answers carrying only our own addresses come from this box (avahi, say): no clash.
    return probe.port is not None or not set(probe.parsed_addresses()) <= set(mine)


async def _register(zc: AsyncZeroconf, infos: list[AsyncServiceInfo]) -> bool:
    """Register every service and wait for its announcement; register none if a name is taken."""
    results = await asyncio.gather(*(zc.async_register_service(info) for info in infos),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await _unregister(zc, [info for info, result in zip(infos, results)
                               if not isinstance(result, BaseException)])
        if all(isinstance(f, NonUniqueNameException) for f in failures):
            return False
        raise failures[0]
    await asyncio.gather(*(r for r in results if not isinstance(r, BaseException)))
    return True


async def _unregister(zc: AsyncZeroconf, infos: list[AsyncServiceInfo]) -> None:
    """Unregister the services and wait until their goodbye packets are sent."""
    sent = await asyncio.gather(*(zc.async_unregister_service(info) for info in infos))
    await asyncio.gather(*sent)


def _instance(name: str) -> str:
    return name[:1].upper() + name[1:]


def _with_suffix(name: str, number: int) -> str:
    suffix = f"-{number}"
    return name[:63 - len(suffix)].rstrip("-") + suffix


def _ip_version(addresses: Sequence[str]) -> IPVersion:
    versions = {ipaddress.ip_address(a).version for a in addresses}
    if versions == {4, 6}:
        return IPVersion.All
    return IPVersion.V6Only if versions == {6} else IPVersion.V4Only


