"""DataDisk: find the data disk at start-up, follow its plugs, adopt a new one, eject it."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from appliance.core import Core, write_identity
from appliance.datadisk import move
from appliance.datadisk.choice import SUPPORTED, Choice, read_choice, save_choice
from appliance.datadisk.move import Progress
from appliance.datadisk.problems import DAMAGED, EJECTED, MISSING, MOVING, DataDiskError
from appliance.platform.disks import ADDED, CHANGED, REMOVED, Disk, Disks
from appliance.platform.helper_client import HelperClient, HelperError
from appliance.settings import Settings
from appliance.i18n import N_

logger = logging.getLogger(__name__)

SUBDIR = "hearth"


class DataDisk:
    """Choose, watch and protect the disk that holds the owner's data."""

    def __init__(self, settings: Settings, disks: Disks, helper: HelperClient | None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._disks = disks
        self._helper = helper
        self._clock = clock
        self._lock = asyncio.Lock()
        self.progress: Progress | None = None
        self._choice: Choice | None = None

    @property
    def choice(self) -> Choice | None:
        """Return the adopted disk, or None while the data is in the embedded folder."""
        return self._choice

    def _need_helper(self) -> HelperClient:
        if self._helper is None:
            raise DataDiskError(N_("This box has no disk helper, so it can't use USB disks "
                                   "(a developer's machine keeps data in its folder)."))
        return self._helper

    async def locate(self) -> tuple[Path | None, str | None]:
        """Return the data folder to open at start-up, or None and why it can't be."""
        self._choice = await asyncio.to_thread(read_choice, self._settings.system)
        if self._choice is None:
            return self._settings.data, None
        disk = await self._find(self._choice.uuid)
        if disk is None:
            return None, MISSING
        return await self._bring_up(self._choice)

    async def _find(self, fs_uuid: str) -> Disk | None:
        disks = await asyncio.to_thread(self._disks.list)
        return next((d for d in disks if d.uuid == fs_uuid), None)

    async def _bring_up(self, choice: Choice) -> tuple[Path | None, str | None]:
        helper = self._need_helper()
        try:
            await helper.unmount(choice.uuid)  # a stale mount left by a pulled-out disk
            verdict = await helper.check(choice.uuid)
            if verdict.startswith("damaged"):
                logger.error("data disk %s: %s", choice.name, verdict)
                return None, DAMAGED
            mount = await helper.mount(choice.uuid)
        except HelperError as exc:
            logger.error("data disk %s can't be mounted: %s", choice.name, exc)
            return None, str(exc)
        data_dir = mount / SUBDIR
        await asyncio.to_thread(write_identity, data_dir)
        return data_dir, None

    async def on_event(self, core: Core, action: str, disk: Disk) -> None:
        """Detach the core when the data disk goes; attach it again when it comes back."""
        choice = self._choice
        if choice is None or disk.uuid != choice.uuid or self.progress_running:
            return
        async with self._lock:
            if action == REMOVED and core.available:
                logger.warning("the data disk %s was unplugged", choice.name)
                await core.detach(MISSING)
            elif action in (ADDED, CHANGED) and core.problem in (MISSING, EJECTED, DAMAGED):
                data_dir, problem = await self._bring_up(choice)
                if data_dir is None:
                    await core.detach(problem or MISSING)
                    return
                await core.attach(data_dir)
                logger.info("the data disk %s is back; carrying on", choice.name)
                await core.notifications.add("datadisk.back", N_("Your data disk is back"),
                                             choice.name)

    @property
    def progress_running(self) -> bool:
        """Return whether a move is under way."""
        return self.progress is not None and self.progress.phase not in ("done", "failed")

    def check_adoptable(self, disk: Disk) -> None:
        """Raise DataDiskError unless `disk` can hold the data as it is, now."""
        if self.progress_running:
            raise DataDiskError(N_("A move is already under way."))
        self._check_usable(disk)

    def _check_usable(self, disk: Disk) -> None:
        if self._choice is not None and disk.uuid == self._choice.uuid:
            raise DataDiskError(N_("Your data is already on this disk."))
        if disk.fstype not in SUPPORTED or not disk.uuid:
            raise DataDiskError(N_("Hearth can use disks formatted as ext4, exFAT or NTFS. "
                                   "Erase this one to use it."))

    async def adopt(self, core: Core, disk: Disk, *, erase_size: int | None = None) -> None:
        """Move the owner's data to `disk`, then switch to it.

        With `erase_size` (the size in bytes the owner confirmed) the disk is erased
        and formatted as ext4 first; the helper refuses if the size does not match.
        """
        helper = self._need_helper()
        if self.progress_running:
            raise DataDiskError(N_("A move is already under way."))
        if erase_size is not None:
            self.progress = Progress("erasing")
            try:
                fs_uuid = await helper.format(disk.device, "HEARTH", erase_size)
            except HelperError as exc:
                self.progress = Progress("failed", message=str(exc))
                raise DataDiskError(str(exc)) from None
            disk = replace(disk, uuid=fs_uuid, fstype="ext4", label="HEARTH")
        try:
            self._check_usable(disk)
        except DataDiskError as exc:
            self.progress = Progress("failed", message=str(exc))
            raise
        self.progress = Progress("counting")
        source = core.data_dir
        await core.detach(MOVING, readable=True)
        try:
            mount = await helper.mount(disk.uuid)
            target = mount / SUBDIR
            await asyncio.to_thread(self._copy, source, target)
            name = f"{disk.name} ({disk.label})" if disk.label else disk.name
            choice = Choice(disk.uuid, disk.fstype, disk.label, name, self._clock())
            self.progress = Progress("switching")
            await asyncio.to_thread(save_choice, self._settings.system, choice)
            self._choice = choice
            await core.attach(target)
        except Exception as exc:
            message = str(exc) if isinstance(exc, (HelperError, move.MoveError,
                                                   DataDiskError, OSError)) else repr(exc)
            logger.exception("moving the data to %s failed", disk.describe())
            self.progress = Progress("failed", message=message)
            await core.attach(source)  # the old folder was left untouched
            raise DataDiskError(message) from None
        self.progress = Progress("done", message=choice.name)
        logger.info("the owner's data now lives on %s", choice.name)
        await core.notifications.add("datadisk.adopted", N_("Your data is on its new disk"),
                                     choice.name)

    def _copy(self, source: Path, target: Path) -> None:
        if (target / "store").exists() and any((target / "store").iterdir()):
            raise DataDiskError(N_("This disk already holds a Hearth's data. To restore a "
                                   "Hearth, use its backup; to reuse the disk, erase it."))
        what = move.plan(source)

        def report(phase: str, done: int) -> None:
            self.progress = Progress(phase, done, what.total)
        report("copying", 0)
        move.copy(source, target, what, report)
        move.verify(source, target, what, report)

    async def eject(self, core: Core) -> str:
        """Flush, unmount and power the data disk off; return what to tell the owner."""
        choice = self._choice
        if choice is None:
            raise DataDiskError(N_("There is no data disk to eject."))
        helper = self._need_helper()
        disk = await self._find(choice.uuid)
        await core.detach(EJECTED)
        if disk is None:
            return EJECTED
        async with self._lock:
            await helper.unmount(choice.uuid)
            return await helper.power_off(disk.device)

    def state(self) -> dict[str, Any]:
        """Return what Settings › Storage shows about the data disk and a move."""
        progress = self.progress
        return {"choice": self._choice, "progress": progress,
                "percent": progress.percent if progress else 0}
