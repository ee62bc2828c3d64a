"""The box's backups as the pages and the schedule see them: one object, one operation at a time."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from appliance.backup.box.backupplan import BackupPlan, Target
from appliance.backup.box.backuprun import run_backup
from appliance.backup.box.backupsetup import BackupSetup
from appliance.backup.box.backupstatus import BACKUP, CHECK, MOVE, RESTORE, Status
from appliance.backup.box.checkrun import run_check
from appliance.backup.box.moverun import find_backup, run_move
from appliance.backup.box.operation import Busy, OperationSlot
from appliance.backup.box.ownerspeech import OwnerSpeech
from appliance.backup.box.restorerun import run_restore
from appliance.backup.box.snapshotreading import listing, snapshots
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.backuptree import Entry
from appliance.backup.engine.repository import Repository
from appliance.core import Core
from appliance.platform import Platform
from appliance.settings import Settings


class BackupBox:
    """Everything the box does with backups: the setup, the operations, reading snapshots."""

    def __init__(self, settings: Settings, platform: Platform, core: Callable[[], Core], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.setup = BackupSetup(settings, platform, core, clock=clock)
        self.speech = OwnerSpeech(core)
        self.slot = OperationSlot(self.speech.say)

    @property
    def settings(self) -> Settings:
        """Return the box's settings."""
        return self.setup.settings

    @property
    def core(self) -> Core:
        """Return the core (looked up each time: it follows the data disk)."""
        return self.setup.core

    @property
    def clock(self) -> Callable[[], float]:
        """Return the clock the schedule and the plan read."""
        return self.setup.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.setup.clock = clock

    @property
    def plan(self) -> BackupPlan:
        """Return the backup plan."""
        return self.setup.plan

    @property
    def status(self) -> Status:
        """Return the status of the last or running operation."""
        return self.slot.status

    async def load(self) -> None:
        """Read the plan from the system folder."""
        await self.setup.load()

    async def set_up(self, target: Target) -> None:
        """Make the repository on the target and keep its key sealed; the kit is to be shown."""
        if self.status.running:
            raise Busy()
        await self.setup.set_up(target)

    async def confirm_kit(self) -> None:
        """Remember the owner has kept the emergency kit: it is never shown again."""
        await self.setup.confirm_kit()

    async def set_policy(self, daily: int, weekly: int, monthly: int) -> None:
        """Change how many daily, weekly and monthly snapshots are kept."""
        await self.setup.set_policy(daily, weekly, monthly)

    def recovery_key(self) -> str:
        """Return the recovery key, unsealed (blocking)."""
        return self.setup.recovery_key()

    async def repository(self) -> Repository:
        """Return the open repository (mounting the disk if needed); WhereError if away."""
        return await self.setup.repository()

    async def snapshots(self) -> list[Snapshot]:
        """Return the snapshots, newest first."""
        return await snapshots(self.setup)

    async def listing(self, snapshot_id: str, path: str) -> tuple[Snapshot, list[Entry]]:
        """Return a snapshot and the entries of one of its Drive folders ("" is the Drive)."""
        return await listing(self.setup, snapshot_id, path)

    async def open_backup(self, root: Path, key: str) -> Repository:
        """Return the repository under root that a recovery key (as typed) opens."""
        return await find_backup(root, key)

    def busy(self) -> bool:
        """Tell whether an operation is under way."""
        return self.slot.busy()

    def start_backup(self, trigger: str) -> None:
        """Start a backup now (Busy if something runs); it notifies the owner when it ends."""
        self.slot.start(BACKUP, lambda: run_backup(self.setup, self.slot, self.speech, trigger))

    def start_restore(self, snapshot_id: str, path: str) -> None:
        """Restore a file or folder of the Drive from a snapshot into a new Drive folder."""
        self.slot.start(RESTORE, lambda: run_restore(self.setup, self.slot, self.speech,
                                                     snapshot_id, path))

    def start_check(self, every: bool = False) -> None:
        """Check the backups' structure (with `every`, read every piece); the page shows it."""
        self.slot.start(CHECK, lambda: run_check(self.setup, self.slot, self.speech, every))

    def start_move(self, repo: Repository) -> None:
        """Restore everything of the newest snapshot onto this fresh box, then carry on."""
        self.slot.start(MOVE, lambda: run_move(self.setup, self.slot, repo))

    async def stop(self) -> None:
        """Interrupt what runs (the engine is crash-safe) and wait for its thread."""
        await self.slot.stop()
