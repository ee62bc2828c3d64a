"""Share links in the store: unguessable tokens, expiry, an optional password, visit counts."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

from appliance.auth.passphrase import hash_passphrase, verify_passphrase
from appliance.files import FileEntry
from appliance.services import ServiceContext
from appliance.store import Collection
from appliance.store.errors import StoreError

logger = logging.getLogger(__name__)

DOCTYPE = "io.hearth.sharings"
TOKEN_BYTES = 24  # 192 random bits: 32 URL-safe characters
TOKEN_PATTERN = "[A-Za-z0-9_-]{32}"

Doc = dict[str, Any]


def lookup_of(token: str) -> str:
    """Return the indexed key a token is found by (a hash: its timing says nothing of it)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def unlock_key(doc: Doc) -> str:
    """Return the cookie value that proves this browser gave the link's password.

    It changes with the password and can't be made without both the token and
    the stored hash, so a visitor who has only the link can't forge it.
    """
    return hashlib.sha256(f"{doc['token']}\n{doc['password']}".encode()).hexdigest()


class ShareLinks:
    """The owner's share links, stored in io.hearth.sharings."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    @property
    def _coll(self) -> Collection:
        return self._ctx.collections[DOCTYPE]

    def all(self) -> list[Doc]:
        """Return every link, newest first."""
        return self._coll.find({}, sort=[{"created_at": "desc"}])

    def get(self, link_id: str) -> Doc | None:
        """Return a link by its id."""
        return self._coll.get(link_id)

    def find(self, token: str) -> Doc | None:
        """Return the link a visitor's token opens, compared in constant time."""
        for doc in self._coll.find({"lookup": lookup_of(token)}):
            if secrets.compare_digest(doc["token"].encode(), token.encode("ascii", "replace")):
                return doc
        return None

    async def create(self, entry: FileEntry, *, expires_at: float | None,
                     password: str | None) -> Doc:
        """Store a new link to a file or folder and return it (with its token)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        hashed = await asyncio.to_thread(hash_passphrase, password) if password else None
        doc = await self._coll.create({
            "token": token, "lookup": lookup_of(token), "file_id": entry.id,
            "path": entry.path, "name": entry.name, "type": entry.type,
            "created_at": self._ctx.clock(), "expires_at": expires_at, "password": hashed,
            "visits": 0, "downloads": 0, "last_visit": None,
        })
        self._ctx.logger.info("share link %s created for %s", doc["_id"], entry.path)
        return doc

    async def revoke(self, link_id: str) -> Doc | None:
        """Delete a link for good; return it, or None if it was already gone."""
        doc = self._coll.get(link_id)
        if doc is None:
            return None
        await self._coll.delete(doc["_id"], doc["_rev"])
        self._ctx.logger.info("share link %s for %s revoked", doc["_id"], doc["path"])
        return doc

    async def check_password(self, doc: Doc, given: str) -> bool:
        """Tell whether `given` is the link's password (scrypt, in a thread)."""
        return bool(doc["password"]) and await asyncio.to_thread(
            verify_passphrase, given, doc["password"])

    async def note(self, doc: Doc, *, counter: str | None = None, path: str | None = None
                   ) -> None:
        """Count a visit or a download and remember where the item is now; never fails."""
        current = self._coll.get(doc["_id"])
        if current is None:
            return
        changes: Doc = {}
        if counter is not None:
            changes = {counter: current.get(counter, 0) + 1, "last_visit": self._ctx.clock()}
        if path is not None and path != current["path"]:
            changes["path"] = path  # moved or renamed since it was shared: follow it
        if not changes:
            return
        try:
            await self._coll.put({**current, **changes})
        except StoreError as exc:  # revoked meanwhile, or the disk went read-only
            logger.info("share link %s not updated: %s", doc["_id"], exc)
