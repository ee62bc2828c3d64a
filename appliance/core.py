"""The core every part of Hearth shares: the store and the owner's records in it."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid as uuids
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.auth.devices import Devices
from appliance.auth.sessions import Sessions
from appliance.auth.tokens import Tokens
from appliance.doctypes import Doctype, FieldSpec
from appliance.durable import atomic_write
from appliance.files import DOCTYPE as FILES_DOCTYPE
from appliance.files import INDEXES as FILES_INDEXES
from appliance.files import FileTree
from appliance.notifications import Notifications
from appliance.owner import Owner
from appliance.services import Service
from appliance.settings import Settings
from appliance.store import Collection, Store

logger = logging.getLogger(__name__)

NOTIFICATION_FIELDS = {
    "kind": FieldSpec("str"), "title": FieldSpec("str", required=True, nullable=False),
    "body": FieldSpec("str"), "created_at": FieldSpec("number"), "read": FieldSpec("bool"),
    # what it is about, and the page that shows it
    "about": FieldSpec("dict", fields={"doctype": FieldSpec("str"), "id": FieldSpec("str"),
                                       "href": FieldSpec("link")}),
}
CORE_DOCTYPES = (
    Doctype("io.hearth.owner", private=True),
    Doctype("io.hearth.sessions", private=True),
    Doctype("io.hearth.tokens", indexes=("hash",), private=True),
    Doctype("io.hearth.notifications", indexes=("read",), fields=NOTIFICATION_FIELDS),
    Doctype("io.hearth.devices", indexes=("name",), private=True),
    Doctype(FILES_DOCTYPE, indexes=FILES_INDEXES, api_writable=False),
)
# A store on a disk that was pulled out may never answer: don't wait for it forever.
CLOSE_TIMEOUT = 5.0


@dataclass
class Core:
    """The open store with the owner's records, shared by the daemon and the CLI.

    The core outlives its store: when the data disk goes away the daemon calls
    `detach`, and `attach` when it is back, so the objects handlers reach through
    it (owner, sessions, collections) are looked up per request, never kept.
    """

    settings: Settings
    doctypes: dict[str, Doctype]
    data_dir: Path
    store: Store
    collections: dict[str, Collection]
    owner: Owner
    sessions: Sessions
    tokens: Tokens
    notifications: Notifications
    devices: Devices
    files: FileTree
    problem: str | None = None
    readable: bool = False  # while detached, may the last state still be read (a move)?
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def available(self) -> bool:
        """Return whether the owner's data can be read and written now."""
        return self.problem is None

    def private_doctypes(self) -> set[str]:
        """Return the doctypes no data API request or token may reach."""
        return {d.name for d in self.doctypes.values() if d.private}

    async def detach(self, problem: str, *, readable: bool = False) -> None:
        """Stop writing to the data folder (disk gone, or moving); say why to the owner.

        With `readable`, pages may still show the last state (kept in memory) while
        every write is refused: that is how a move keeps its progress bar visible.
        """
        async with self._lock:
            self.readable = readable
            if self.problem is not None:
                self.problem = problem
                return
            self.problem = problem
            try:
                await asyncio.wait_for(self.store.close(), CLOSE_TIMEOUT)
            except Exception:  # a vanished disk: what was not acknowledged is lost, by design
                logger.exception("the store in %s did not close cleanly", self.data_dir)

    async def attach(self, data_dir: Path) -> None:
        """Use the data folder at `data_dir` (again), opening its store."""
        async with self._lock:
            if self.problem is None:
                await asyncio.wait_for(self.store.close(), CLOSE_TIMEOUT)
            fresh = await _open(self.settings, self.doctypes, data_dir)
            for name in ("data_dir", "store", "collections", "owner", "sessions", "tokens",
                         "notifications", "devices", "files"):
                setattr(self, name, getattr(fresh, name))
            self.problem = None

    async def close(self) -> None:
        """Commit what is pending and release the store."""
        async with self._lock:
            if self.problem is None:
                await self.store.close()
                self.problem = "closed"


def write_identity(data_dir: Path) -> None:
    """Give a data folder its disk.json identity if it has none (blocking)."""
    identity = data_dir / "disk.json"
    if identity.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(identity, json.dumps({"instance": uuids.uuid4().hex, "format": 1,
                                       "created": time.time()}).encode(), mode=0o644)


def prepare_folders(settings: Settings, data_dir: Path) -> None:
    """Create the data folder layout, keeping the system folder private."""
    for path in (data_dir, data_dir / "files", data_dir / "store"):
        path.mkdir(parents=True, exist_ok=True)
    write_identity(data_dir)
    settings.system.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.system, 0o700)


async def _open(settings: Settings, doctypes: dict[str, Doctype], data_dir: Path) -> Core:
    await asyncio.to_thread(prepare_folders, settings, data_dir)
    store = await Store.open(data_dir / "store")
    try:
        collections = {}
        for d in doctypes.values():
            collections[d.name] = await store.collection(
                d.name, indexes=d.indexes, version=d.version, migrations=d.migrations)
    except BaseException:
        await store.close()
        raise
    return Core(
        settings=settings, doctypes=doctypes, data_dir=data_dir, store=store,
        collections=collections,
        owner=Owner(collections["io.hearth.owner"]),
        sessions=Sessions(collections["io.hearth.sessions"],
                          max_age=settings.session_days * 86400.0,
                          lifetime=settings.session_lifetime_days * 86400.0),
        tokens=Tokens(collections["io.hearth.tokens"]),
        notifications=Notifications(collections["io.hearth.notifications"]),
        devices=Devices(collections["io.hearth.devices"]),
        files=FileTree(data_dir, collections[FILES_DOCTYPE]),
    )


async def open_core(settings: Settings, services: Sequence[Service] = (), *,
                    data_dir: Path | None = None) -> Core:
    """Open the store and every declared doctype; raise StoreLocked if a daemon holds it."""
    doctypes = {d.name: d for d in CORE_DOCTYPES}
    for service in services:
        for doctype in service.doctypes:
            doctypes.setdefault(doctype.name, doctype)
    return await _open(settings, doctypes, data_dir or settings.data)
