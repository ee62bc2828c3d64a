"""The core every part of Hearth shares: the store and the owner's records in it."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.auth.sessions import Sessions
from appliance.auth.tokens import Tokens
from appliance.doctypes import Doctype
from appliance.notifications import Notifications
from appliance.owner import Owner
from appliance.services import Service
from appliance.settings import Settings
from appliance.store import Collection, Store

CORE_DOCTYPES = (
    Doctype("io.hearth.owner", private=True),
    Doctype("io.hearth.sessions", private=True),
    Doctype("io.hearth.tokens", indexes=("hash",), private=True),
    Doctype("io.hearth.notifications", indexes=("read",)),
)


@dataclass
class Core:
    """The open store with the owner's records, shared by the daemon and the CLI."""

    store: Store
    doctypes: dict[str, Doctype]
    collections: dict[str, Collection]
    owner: Owner
    sessions: Sessions
    tokens: Tokens
    notifications: Notifications

    def private_doctypes(self) -> set[str]:
        """Return the doctypes no data API request or token may reach."""
        return {d.name for d in self.doctypes.values() if d.private}

    async def close(self) -> None:
        """Commit what is pending and release the store."""
        await self.store.close()


def prepare_folders(settings: Settings) -> None:
    """Create the data folder layout, keeping the system folder private."""
    for path in (settings.data, settings.files_dir, settings.store_dir):
        path.mkdir(parents=True, exist_ok=True)
    settings.system.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.system, 0o700)


async def open_core(settings: Settings, services: Sequence[Service] = ()) -> Core:
    """Open the store and every declared doctype; raise StoreLocked if a daemon holds it."""
    await asyncio.to_thread(prepare_folders, settings)
    store = await Store.open(settings.store_dir)
    try:
        doctypes = {d.name: d for d in CORE_DOCTYPES}
        for service in services:
            for doctype in service.doctypes:
                doctypes.setdefault(doctype.name, doctype)
        collections = {}
        for d in doctypes.values():
            collections[d.name] = await store.collection(
                d.name, indexes=d.indexes, version=d.version, migrations=d.migrations)
    except BaseException:
        await store.close()
        raise
    return Core(
        store=store, doctypes=doctypes, collections=collections,
        owner=Owner(collections["io.hearth.owner"]),
        sessions=Sessions(collections["io.hearth.sessions"],
                          max_age=settings.session_days * 86400.0),
        tokens=Tokens(collections["io.hearth.tokens"]),
        notifications=Notifications(collections["io.hearth.notifications"]),
    )
