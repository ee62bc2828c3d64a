"""Connector accounts (io.hearth.accounts): fields, sealed secrets and schedule state."""
from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from appliance.errors import UserError
from appliance.jobs.manifest import Manifest
from appliance.jobs.policy import OK
from appliance.jobs.schedule import next_run
from appliance.keyring import Keyring, seal_in_child
from appliance.store import Collection
from appliance.i18n import N_

DOCTYPE = "io.hearth.accounts"
RUNS_DOCTYPE = "io.hearth.connector.runs"
Sealer = Callable[[bytes, str, Mapping[str, Any]], Awaitable[dict[str, str]]]
MAX_LABEL = 100


class AccountError(UserError, ValueError):
    """An account can't be saved as asked; `message` is a translatable msgid."""


class Accounts:
    """Create, edit and remove accounts; secrets are sealed before they reach the store."""

    def __init__(self, collection: Callable[[], Collection], keyring: Keyring, *,
                 sealer: Sealer = seal_in_child, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self._collection, self._keyring, self._sealer = collection, keyring, sealer
        self._clock, self._rng = clock, rng or random.Random()

    def list(self) -> list[dict[str, Any]]:
        """Return every account, by label."""
        return self._collection().find({}, sort=["label"])

    def get(self, account_id: str) -> dict[str, Any] | None:
        """Return one account, or None."""
        return self._collection().get(account_id)

    def _label(self, manifest: Manifest, label: str, account_id: str | None) -> str:
        label = " ".join(label.split())[:MAX_LABEL] or manifest.name
        for other in self._collection().find({"label": label}):
            if other["_id"] != account_id:
                raise AccountError(N_("Another account is already called %(label)s; pick "
                                      "another name."), label=label)
        return label

    async def _seal(self, account_id: str, manifest: Manifest, values: Mapping[str, str]
                    ) -> dict[str, str]:
        secrets = {f.name: values[f.name] for f in manifest.fields
                   if f.is_secret and values.get(f.name)}
        if not secrets:
            return {}
        key = self._keyring.key_for(account_id)
        return await self._sealer(key, account_id, secrets)

    async def create(self, manifest: Manifest, label: str, values: Mapping[str, str]
                     ) -> dict[str, Any]:
        """Check the values against the manifest, seal the secrets, store the account."""
        cleaned = manifest.check(values)
        account_id = uuid.uuid4().hex
        label = self._label(manifest, label, None)
        sealed = await self._seal(account_id, manifest, cleaned)
        slot = self._rng.random()
        now = self._clock()
        return await self._collection().create({
            "_id": account_id, "connector": manifest.slug, "label": label,
            "fields": {f.name: cleaned.get(f.name, "") for f in manifest.fields
                       if not f.is_secret},
            "sealed": sealed, "session": None, "state": OK, "error": None,
            "failures": 0, "slot": slot, "enabled": True,
            "next_run": next_run(manifest.frequency, manifest.time_window, slot, now),
            "last_run": None, "created_at": now, "updated_at": now})

    async def update(self, manifest: Manifest, account_id: str, label: str,
                     values: Mapping[str, str]) -> dict[str, Any]:
        """Save new values (an empty secret keeps the stored one); the account runs again."""
        doc = self.get(account_id)
        if doc is None:
            raise AccountError(N_("This account no longer exists."))
        kept = frozenset(doc.get("sealed", {}))
        cleaned = manifest.check(values, keep=kept)
        label = self._label(manifest, label, account_id)
        sealed = {name: token for name, token in doc.get("sealed", {}).items()
                  if name not in cleaned}
        sealed.update(await self._seal(account_id, manifest, cleaned))
        new_fields = {f.name: cleaned.get(f.name, "") for f in manifest.fields
                      if not f.is_secret}
        changed = new_fields != doc.get("fields") or any(
            f.is_secret and cleaned.get(f.name) for f in manifest.fields)
        now = self._clock()
        doc.update({"label": label, "fields": new_fields, "sealed": sealed, "updated_at": now,
                    "state": OK, "error": None, "failures": 0,
                    "next_run": doc.get("next_run") or next_run(
                        manifest.frequency, manifest.time_window, doc["slot"], now)})
        if changed:
            doc["session"] = None  # a session belongs to the login it was made with
        return await self._collection().put(doc)

    async def change(self, account_id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Update some fields of an account as it is now; None if it was removed."""
        coll = self._collection()
        doc = coll.get(account_id)
        if doc is None:
            return None
        doc.update(fields)
        return await coll.put(doc)

    async def remove(self, account_id: str) -> bool:
        """Delete an account and its runs (what it brought home stays); tell if it existed."""
        coll = self._collection()
        doc = coll.get(account_id)
        if doc is None:
            return False
        await coll.delete(doc["_id"], doc["_rev"])
        return True
