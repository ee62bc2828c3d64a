"""The box's backups: set up, run (one at a time, in a thread), restore, check, notify."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from appliance.backup.engine import recovery
from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import DAMAGED, BackupError, Unreadable
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.box import plan as plans
from appliance.backup.box import schedule, words
from appliance.backup.box.move import open_backup, restore_home
from appliance.backup.box.jobs import Interrupted, Stopper, back_up, check, restore_into
from appliance.backup.box.backupplan import Plan, Target
from appliance.backup.box.backupstatus import BACKUP, CHECK, DONE, FAILED, MOVE, RESTORE, Status
from appliance.backup.box.where import WhereError, instance_id, repo_path, root_of
from appliance.core import Core
from appliance.keyring import Keyring, seal, unseal
from appliance.platform import Platform
from appliance.settings import Settings
from appliance.i18n import Catalogs, N_
from appliance.web.storage_page import size_in

logger = logging.getLogger(__name__)
T = TypeVar("T")
SEAL_OWNER = "io.hearth.backup"
MOVING_IN = N_("Hearth is bringing your data back from its backup. The box carries on by "
               "itself when it is done.")


class Busy(Exception):
    """Another backup operation is under way."""


class BackupBox:
    """Everything the box does with backups; one operation at a time."""

    def __init__(self, settings: Settings, platform: Platform, core: Callable[[], Core], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.platform = platform
        self._core = core
        self.clock = clock
        self.plan = Plan()
        self.status = Status()
        self._task: asyncio.Task[None] | None = None
        self._stopper = Stopper(threading.Event())
        self._repo: Repository | None = None
        self._catalogs = Catalogs()

    @property
    def core(self) -> Core:
        """Return the core (looked up each time: it follows the data disk)."""
        return self._core()

    async def load(self) -> None:
        """Read the plan from the system folder."""
        self.plan = await asyncio.to_thread(plans.load, self.settings.system)
        self._repo = None

    async def _save(self, plan: Plan) -> None:
        await asyncio.to_thread(plans.save, self.settings.system, plan)
        self.plan = plan

    def _lang(self) -> str:
        """Return the owner's language (English until there is an owner)."""
        owner = self.core.owner if self.core.available else None
        return (owner.language if owner is not None else None) or "en"

    def _say(self, message: str, **params: Any) -> str:
        """Translate a message into the owner's language (notifications are stored as text)."""
        text = self._catalogs.get(self._lang()).gettext(message)
        return text % params if params else text

    # the recovery key, sealed on the system side

    def _seal(self, repo_id: str, key: str) -> str:
        keyring = Keyring(self.settings.system)
        return seal(keyring.key_for(f"{SEAL_OWNER}/{repo_id}"), f"{SEAL_OWNER}/{repo_id}",
                    key.encode())

    def recovery_key(self) -> str:
        """Return the recovery key, unsealed (blocking)."""
        owner = f"{SEAL_OWNER}/{self.plan.repo_id}"
        keyring = Keyring(self.settings.system)
        return unseal(keyring.key_for(owner), owner, self.plan.sealed_key).decode()

    # set up

    async def set_up(self, target: Target) -> None:
        """Make the repository on the target and keep its key sealed; the kit is to be shown."""
        if self.status.running:
            raise Busy()
        root = await self._reach(target)
        path = repo_path(root, await asyncio.to_thread(instance_id, self.core.data_dir))

        def init() -> tuple[str, str]:
            key = recovery.generate()
            repo = Repository.init(path, key)
            return str(repo.config["id"]), self._seal(str(repo.config["id"]), key)
        try:
            repo_id, sealed = await asyncio.to_thread(init)
        except BackupError as exc:
            raise WhereError.of(exc) from None
        await self._save(Plan(target=target, repo_id=repo_id, sealed_key=sealed,
                              policy=self.plan.policy,
                              next_run=schedule.next_slot(self.clock())))
        self._repo = None
        logger.info("backups set up on %s (%s)", target.name, path)

    async def confirm_kit(self) -> None:
        """Remember the owner has kept the emergency kit: it is never shown again."""
        await self._save(self.plan.with_(kit_confirmed=True))

    async def set_policy(self, daily: int, weekly: int, monthly: int) -> None:
        """Change how many daily, weekly and monthly snapshots are kept."""
        await self._save(self.plan.with_(
            policy={"daily": daily, "weekly": weekly, "monthly": monthly}))

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

    # reading

    async def _reader(self) -> Repository:
        """Return a repository handle of its own for pages, which read while a backup runs.

        It shares the opened keys (no second key derivation) but not the open packs,
        which the running operation closes when it ends.
        """
        repo = await self.repository()
        return Repository(repo.path, repo.config, repo.keys)

    async def snapshots(self) -> list[Snapshot]:
        """Return the snapshots, newest first."""
        repo = await self._reader()
        return list(reversed(await asyncio.to_thread(repo.snapshots)))

    async def listing(self, snapshot_id: str, path: str) -> tuple[Snapshot, list[trees.Entry]]:
        """Return a snapshot and the entries of one of its Drive folders ("" is the Drive)."""
        from appliance.backup.engine.restorer import find
        repo = await self._reader()

        def read() -> tuple[Snapshot, list[trees.Entry]]:
            snapshot = repo.find_snapshot(snapshot_id)
            index = repo.load_index()
            entry = find(repo, index, snapshot, _in_drive(path))
            if entry["type"] != trees.DIR:
                raise BackupError(f"{path} is not a folder")
            try:
                return snapshot, repo.read_tree(index, entry["tree"])
            finally:
                repo.close()
        try:
            return await asyncio.to_thread(read)
        except Unreadable as exc:  # damaged, or a prune is under way
            raise WhereError.of(BackupError(str(exc), code=DAMAGED, count=1)) from None
        except BackupError as exc:
            raise WhereError.of(exc) from None

    # operations

    def busy(self) -> bool:
        """Tell whether an operation is under way."""
        return self._task is not None and not self._task.done()

    def _start(self, action: str, work: Callable[[], Awaitable[None]]) -> None:
        if self.busy():
            raise Busy()
        self.status = Status.begin(action)
        self._stopper.event.clear()
        self._task = asyncio.create_task(self._guarded(work))

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Interrupted:
            self.status.end(FAILED, self._say(N_("Stopped when the box stopped; the next backup "
                                              "completes it.")))
        except (WhereError, BackupError) as exc:
            said = _where(exc)
            self.status.end(FAILED, said.say(self._say), said.args[0], **said.params)
            logger.error("%s failed: %s", self.status.action, exc)
        except Exception as exc:
            self.status.end(FAILED, self._say(words.OTHER, detail=str(exc) or repr(exc)),
                            words.OTHER, detail=str(exc) or repr(exc))
            logger.exception("%s failed", self.status.action)

    def start_backup(self, trigger: str) -> None:
        """Start a backup now (Busy if something runs); it notifies the owner when it ends."""
        self._start(BACKUP, lambda: self._backup(trigger))

    async def _backup(self, trigger: str) -> None:
        started = self.clock()
        logger.info("backup started (%s)", trigger)
        try:
            repo = await self.repository()
            system = self.settings.system
            snapshot, pruned = await asyncio.to_thread(
                back_up, repo, self.core.data_dir, system if system.is_dir() else None,
                self.plan.retention(), self.status, self._stopper)
        except Interrupted:
            raise
        except (WhereError, BackupError) as exc:
            failed = _where(exc)
            await self._finished(started, ok=False, message=failed.say(self._say),
                                 said=failed.args[0], params=failed.params)
            raise
        seconds = max(self.clock() - started, 0.0)
        said, params = _done_words(snapshot.stats, seconds, pruned)
        body = words.said(self._say, said, params, size_in(self._lang()))
        await self._finished(started, ok=True, message=body, snapshot=snapshot.short_id,
                             said=said, params=params)
        self.status.end(DONE, body, said, **params)  # last: "done" is seen with the plan saved

    async def _finished(self, started: float, *, ok: bool, message: str, snapshot: str = "",
                        said: str = "", params: dict[str, Any] | None = None) -> None:
        now = self.clock()
        # said and params: the page says it again in the language of whoever looks
        last = {"when": now, "ok": ok, "message": message, "snapshot": snapshot,
                "said": said, "params": params or {}}
        plan = self.plan.with_(last=last, next_run=schedule.next_slot(now))
        if ok:
            plan = plan.with_(last_success=now)
        await self._save(plan)
        if self.core.available:
            if ok:
                await self.core.notifications.add("backup.done", N_("Your backup is done"),
                                                  message)
            else:
                await self.core.notifications.add(
                    "backup.failed", N_("Your backup failed"),
                    message + " " + self._say(N_("Your earlier backups are intact. Open "
                                              "Backups to try again.")))

    def start_restore(self, snapshot_id: str, path: str) -> None:
        """Restore a file or folder of the Drive from a snapshot into a new Drive folder."""
        self._start(RESTORE, lambda: self._restore(snapshot_id, path))

    async def _restore(self, snapshot_id: str, path: str) -> None:
        repo = await self.repository()
        data_dir = self.core.data_dir
        where = await asyncio.to_thread(restore_into, repo, snapshot_id, _in_drive(path),
                                        data_dir, self.status, self._stopper,
                                        self._say(N_("Restored")))
        await self.core.files.rescan()
        said = N_("Brought back into the Drive: %(where)s")
        self.status.end(DONE, self._say(said, where=where), said, where=where)

    def start_check(self, every: bool = False) -> None:
        """Check the backups' structure (with `every`, read every piece); the page shows it."""
        self._start(CHECK, lambda: self._check(every))

    async def _check(self, every: bool) -> None:
        repo = await self.repository()
        report = await asyncio.to_thread(check, repo, self.status, self._stopper,
                                         read_data=every)
        if report.ok:
            self.status.end(DONE, self._say(N_("No damage found in %(n)d backups."),
                                            n=report.snapshots))
            return
        logger.error("check found damage: %s", "; ".join(report.damage[:20]))
        if not report.hurt:
            self.status.end(FAILED, self._say(N_(
                "Some damage was found on the backup disk, but every file of your backups "
                "can still be brought back. If it happens again, the disk may be failing: "
                "replace it.")))
            return
        self.status.end(FAILED, self._say(N_(
            "Some pieces on the backup disk are damaged. These can't be brought back from "
            "those backups: %(what)s. The files on the box itself are not affected. Newer "
            "backups reuse the same pieces while those files stay unchanged, so keep a copy "
            "of them elsewhere, and replace the backup disk if this happens again."),
            what=" ; ".join(self._hurt_words(report.hurt))))

    def _hurt_words(self, hurt: list[tuple[float, str]]) -> list[str]:
        """Return "backup of <date>: file, file…" for each backup with damaged files."""
        by_backup: dict[float, list[str]] = {}
        for when, path in hurt:
            named = self._path_words(path)
            if named not in by_backup.setdefault(when, []):
                by_backup[when].append(named)
        lines = []
        for when in sorted(by_backup, reverse=True):
            paths = by_backup[when]
            more = self._say(N_(" and %(n)d more"), n=len(paths) - 5) if len(paths) > 5 else ""
            lines.append(self._say(N_("the backup of %(when)s: %(paths)s"),
                                   when=self._date(when), paths=", ".join(paths[:5]) + more))
        return lines

    def _path_words(self, path: str) -> str:
        """Return a path of a snapshot as the owner knows it (a Drive path, documents…)."""
        top, _, rest = path.partition("/")
        if top == "files" and rest:
            return rest
        if top == "files":
            return self._say(N_("all of the Drive"))
        if top == "store":
            return self._say(N_("documents (notes, bills, bookmarks…)"))
        if top == "system":
            return self._say(N_("the box's settings"))
        return self._say(N_("everything"))

    def _date(self, when: float) -> str:
        """Return a date and time in the owner's language."""
        from babel.dates import format_datetime  # its locale data loads when first needed

        return format_datetime(datetime.fromtimestamp(when), "medium", locale=self._lang())

    async def open_backup(self, root: Path, key: str) -> Repository:
        """Return the repository under root that a recovery key (as typed) opens."""
        try:
            return await asyncio.to_thread(open_backup, root, recovery.parse(key))
        except BackupError as exc:
            raise WhereError.of(exc) from None

    def start_move(self, repo: Repository) -> None:
        """Restore everything of the newest snapshot onto this fresh box, then carry on."""
        self._start(MOVE, lambda: self._move(repo))

    async def _move(self, repo: Repository) -> None:
        core = self.core
        data_dir = core.data_dir
        await core.detach(MOVING_IN, readable=True)
        try:
            snapshot = await asyncio.to_thread(restore_home, repo, data_dir,
                                               self.settings.system, self.status,
                                               self._stopper)
        finally:
            await core.attach(data_dir)
            await self.load()
        logger.info("this box now holds the Hearth of snapshot %s (%s)", snapshot.short_id,
                    snapshot.host)
        self.status.end(DONE, snapshot.when)
        await core.notifications.add("backup.moved", N_("Your Hearth moved to this box"),
                                     snapshot.when)

    async def stop(self) -> None:
        """Interrupt what runs (the engine is crash-safe) and wait for its thread."""
        self._stopper.event.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def _done_words(stats: dict[str, Any], seconds: float, pruned: int
                ) -> tuple[str, dict[str, Any]]:
    """Return the message (to translate) and parameters that say how a backup went."""
    params = {"files": stats["files"], "size": int(stats["bytes"]),
              "seconds": max(1, round(seconds)), "new": int(stats["stored_bytes"]),
              "forgot": pruned}
    if pruned:
        return N_("%(files)d files (%(size)s) backed up in %(seconds)d s, %(new)s of it "
                  "new. Older backups removed as planned: %(forgot)d."), params
    return N_("%(files)d files (%(size)s) backed up in %(seconds)d s, %(new)s of it new."
              ), params


def _where(exc: WhereError | BackupError) -> WhereError:
    """Return an error in the owner's words (a WhereError already is)."""
    return exc if isinstance(exc, WhereError) else WhereError.of(exc)


def _in_drive(path: str) -> str:
    """Return a Drive path as a path of the snapshot (under files/), refusing escapes."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise WhereError(N_("That path is not in the Drive."))
    return "/".join(["files", *parts])

