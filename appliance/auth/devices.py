"""Devices (phones, sync clients, file managers) with their own app passwords, for WebDAV.

An app password is random and long, so it is stored as a plain SHA-256 hash and
checked fast: WebDAV clients send it with every request. The owner's passphrase
is never accepted there.
"""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.auth.sessions import token_hash
from appliance.errors import UserError
from appliance.i18n import N_

if TYPE_CHECKING:
    from appliance.store import Collection

_NAME = re.compile(r"^[\w .@+-]{1,64}$")
# Letters and digits a person can type on a phone: no 0/O, 1/l/I.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VERIFIED = 64  # devices remembered as verified: a household has a handful


class DeviceError(UserError, ValueError):
    """A device name is unusable or taken; the message says why."""


@dataclass(frozen=True)
class Device:
    """A device allowed to reach the files over WebDAV."""

    id: str
    name: str
    created_at: float
    last_used: float | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Device:
        """Return the device a store document holds."""
        return cls(doc["_id"], doc["name"], doc["created_at"], doc.get("last_used"))


def new_password() -> str:
    """Return a new app password: 4 groups of 5 characters, about 115 bits."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return "-".join(raw[i:i + 5] for i in range(0, 20, 5))


class Devices:
    """Add, check, list and revoke devices and their app passwords."""

    def __init__(self, coll: Collection, *, clock: Callable[[], float] = time.time) -> None:
        self._coll = coll
        self._clock = clock
        # WebDAV sends the password with every request: a device once verified is known
        # by its name and password hash, and checked again only against its document's
        # _rev (revoking deletes the document, so it is refused at once).
        self._verified: dict[tuple[str, str], tuple[str, Device]] = {}

    async def add(self, name: str) -> tuple[str, Device]:
        """Register a device; return its app password (shown once) and record."""
        name = name.strip()
        if not _NAME.match(name):
            raise DeviceError(N_("A device name has 1 to 64 letters, digits, spaces or . @ + - _, "
                                 "like Pixel-8 or Laptop Marie."))
        if self._coll.find({"name": name}, limit=1):
            raise DeviceError(N_("There is already a device with this name: pick another "
                                 "name, or revoke the old one first."))
        password = new_password()
        doc = await self._coll.create({"_id": secrets.token_hex(8), "name": name,
                                       "hash": token_hash(password),
                                       "created_at": self._clock(), "last_used": None})
        return password, Device.from_doc(doc)

    def verify(self, name: str, password: str) -> Device | None:
        """Return the device if this is its name and app password, else None."""
        if len(password) > 64 or len(name) > 64:
            return None
        digest = token_hash(password)
        known = self._verified.get((name, digest))
        if known is not None:
            current = self._coll.get(known[1].id)
            if current is not None and current["_rev"] == known[0]:
                return known[1]
            del self._verified[(name, digest)]
        found = self._coll.find({"name": name}, limit=1)
        if not found or not secrets.compare_digest(found[0]["hash"], digest):
            return None
        if len(self._verified) >= VERIFIED:
            self._verified.clear()
        device = Device.from_doc(found[0])
        self._verified[(name, digest)] = (found[0]["_rev"], device)
        return device

    def list(self) -> list[Device]:
        """Return every device, most recent first."""
        return sorted((Device.from_doc(d) for d in self._coll.all()),
                      key=lambda d: d.created_at, reverse=True)

    async def revoke(self, ref: str) -> bool:
        """Revoke a device by id or name; return whether it existed."""
        doc = self._coll.get(ref) or next(iter(self._coll.find({"name": ref}, limit=1)), None)
        if doc is None:
            return False
        await self._coll.delete(doc["_id"], doc["_rev"])
        return True
