"""The Drive's own state between requests: the disk usage it shows, and a rescan running."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from appliance.files import FilesError, RescanReport

if TYPE_CHECKING:
    from appliance.files import FileTree

logger = logging.getLogger(__name__)
FRESH_FOR = 30.0  # seconds a usage figure is shown before it is measured again


class Upkeep:
    """Disk usage, measured at most every FRESH_FOR seconds, and the rescan in progress.

    Measuring sums every file's size, which takes a while on a Pi with many
    files, so pages show a recent figure; the Drive's own changes refresh it.
    """

    def __init__(self) -> None:
        self._usage: tuple[int, int, int] | None = None
        self._measured = 0.0
        self._rescan: asyncio.Task[None] | None = None
        self.rescan_failed: str | None = None
        self.rescanned: RescanReport | None = None  # what the last rescan on demand found

    async def usage(self, tree: FileTree) -> tuple[int, int, int]:
        """Return (used by files, free, disk size), measured again if old."""
        if self._usage is None or time.monotonic() - self._measured > FRESH_FOR:
            self._usage = await tree.usage()
            self._measured = time.monotonic()
        return self._usage

    def changed(self) -> None:
        """Say the files changed, so the next usage figure is measured again."""
        self._usage = None

    @property
    def rescanning(self) -> bool:
        """Tell whether a rescan is running."""
        return self._rescan is not None and not self._rescan.done()

    def start_rescan(self, tree: FileTree) -> None:
        """Start looking at the disk for changes made elsewhere, unless that is running."""
        if self.rescanning:
            return
        self.rescan_failed = self.rescanned = None
        self._rescan = asyncio.create_task(self._run(tree))

    async def _run(self, tree: FileTree) -> None:
        try:
            self.rescanned = await tree.rescan()
            logger.info("rescan on demand: %s", self.rescanned)
        except FilesError as exc:
            self.rescan_failed = str(exc)
            logger.warning("rescan on demand failed: %s", exc)
        self.changed()

    async def close(self) -> None:
        """Stop a rescan still running (the box is stopping)."""
        if self._rescan is not None and not self._rescan.done():
            self._rescan.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rescan

