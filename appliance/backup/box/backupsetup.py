"""The backup plan the owner set up, and the repository it leads to."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from appliance.backup.box import backupplan, backupschedule
from appliance.backup.box.backupplan import BackupPlan, Target
from appliance.backup.box.sealedkey import seal_key, unseal_key
from appliance.backup.box.where import WhereError, instance_id, repo_path, root_of
from appliance.backup.engine import recovery
from appliance.backup.engine.backuperrors import BackupError
from appliance.backup.engine.repository import Repository
from appliance.core import Core
from appliance.i18n import N_
from appliance.platform import Platform
from appliance.settings import Settings

logger = logging.getLogger(__name__)


class BackupSetup:
    """The plan (kept on the system side) and the open repository on its target."""

    def __init__(self, settings: Settings, platform: Platform, core: Callable[[], Core], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.platform = platform
        self._core = core
        self.clock = clock
        self.plan = BackupPlan()
        self._repo: Repository | None = None

    @property
    def core(self) -> Core:
        """Return the core (looked up each time: it follows the data disk)."""
        return self._core()

    async def load(self) -> None:
        """Read the plan from the system folder."""
        self.plan = await asyncio.to_thread(backupplan.load, self.settings.system)
        self._repo = None

    async def save(self, plan: BackupPlan) -> None:
        """Keep a new plan on the system side."""
        await asyncio.to_thread(backupplan.save, self.settings.system, plan)
        self.plan = plan

    async def set_up(self, target: Target) -> None:
        """Make the repository on the target and keep its key sealed; the kit is to be shown."""
        root = await self._reach(target)
        path = repo_path(root, await asyncio.to_thread(instance_id, self.core.data_dir))
        system = self.settings.system

        def init() -> tuple[str, str]:
            key = recovery.generate()
            repo = Repository.init(path, key)
            return str(repo.config["id"]), seal_key(system, str(repo.config["id"]), key)
        try:
            repo_id, sealed = await asyncio.to_thread(init)
        except BackupError as exc:
            raise WhereError.of(exc) from None
        await self.save(BackupPlan(target=target, repo_id=repo_id, sealed_key=sealed,
                                   policy=self.plan.policy,
                                   next_run=backupschedule.next_slot(self.clock())))
        self._repo = None
        logger.info("backups set up on %s (%s)", target.name, path)

    async def confirm_kit(self) -> None:
        """Remember the owner has kept the emergency kit: it is never shown again."""
        await self.save(self.plan.with_(kit_confirmed=True))

    async def set_policy(self, daily: int, weekly: int, monthly: int) -> None:
        """Change how many daily, weekly and monthly snapshots are kept."""
        await self.save(self.plan.with_(
            policy={"daily": daily, "weekly": weekly, "monthly": monthly}))

    def recovery_key(self) -> str:
        """Return the recovery key, unsealed (blocking)."""
        return unseal_key(self.settings.system, self.plan.repo_id, self.plan.sealed_key)

    async def _reach(self, target: Target) -> Path:
        root = await root_of(self.platform, target)
        if not await asyncio.to_thread(root.is_dir):  # a disk going away may hang a stat
            raise WhereError(N_("That folder doesn't exist."))
        return root

    async def repository(self) -> Repository:
        """Return the open repository (mounting the disk if needed); WhereError if away."""
        if self.plan.target is None:
            raise WhereError(N_("Backups are not set up yet."))
        root = await self._reach(self.plan.target)
        path = repo_path(root, await asyncio.to_thread(instance_id, self.core.data_dir))
        if self._repo is None or self._repo.path != path:
            try:
                self._repo = await asyncio.to_thread(Repository.open, path,
                                                     await asyncio.to_thread(self.recovery_key))
            except BackupError as exc:
                raise WhereError.of(exc) from None
        return self._repo

    async def reader(self) -> Repository:
        """Return a repository handle of its own for pages, which read while a backup runs.

        It shares the opened keys (no second key derivation) but not the open packs,
        which the running operation closes when it ends.
        """
        repo = await self.repository()
        return Repository(repo.path, repo.config, repo.keys)
