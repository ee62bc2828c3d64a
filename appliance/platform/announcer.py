"""The port the daemon announces the box through, and the announcer that tells nobody."""
from __future__ import annotations

import asyncio
from typing import Protocol


class Announcer(Protocol):
    """How the daemon makes the box findable on the home network as ``<name>.local``.

    ``start()`` claims the name (``<name>-2``, ``-3``… when another device already
    answers for it) and announces the web services; ``refresh()`` re-reads the box's
    addresses and announces again when they changed; ``stop()`` says goodbye so that
    browsers drop the box at once. None of them raises for a network problem: the box
    stays reachable at its IP address, the problem is logged once, and the next
    ``refresh()`` tries again.
    """

    @property
    def hostname(self) -> str:
        """Return the name held on the network, without ".local" (e.g. "hearth-2")."""

    @property
    def conflict(self) -> str | None:
        """Return the name asked for when another device already held it, else None."""

    async def start(self) -> None:
        """Claim a name and announce the box."""

    async def refresh(self) -> None:
        """Re-read the box's addresses and announce again if they changed."""

    async def stop(self) -> None:
        """Withdraw every announcement (goodbye packets) and release the network."""


class NullAnnouncer:
    """An announcer that tells nobody: for fast tests and a developer's laptop."""

    def __init__(self, name: str = "hearth") -> None:
        self._name = name

    @property
    def hostname(self) -> str:
        """Return the name it was given."""
        return self._name

    @property
    def conflict(self) -> str | None:
        """Return None: nothing was claimed, so nothing clashed."""
        return None

    async def start(self) -> None:
        """Do nothing."""

    async def refresh(self) -> None:
        """Do nothing."""

    async def stop(self) -> None:
        """Do nothing."""


async def watch_addresses(announcer: Announcer, every: float = 30.0) -> None:
    """Refresh the announcer every `every` seconds until cancelled, announcing new addresses."""
    while True:
        await asyncio.sleep(every)
        await announcer.refresh()
