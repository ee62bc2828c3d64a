"""The owner of the box: passphrase, language and the box's name."""
from __future__ import annotations

import asyncio
import re
import unicodedata
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance.errors import UserError
from appliance.i18n import LANGUAGES, N_
from appliance.auth.passphrase import hash_passphrase, strength_problem, verify_passphrase

if TYPE_CHECKING:
    from appliance.store import Collection

DOC_ID = "owner"
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


class OwnerError(UserError, ValueError):
    """The owner asked for something Hearth can't do; the message is an English msgid."""


def check_box_name(name: str) -> str:
    """Return the box name as a .local name ("Maison Dupont" → maison-dupont), or raise."""
    plain = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    name = re.sub(r"[\s_]+", "-", plain)
    if not _NAME.match(name):
        raise OwnerError(N_("The box's name may use letters a–z, digits and dashes "
                         "(up to 32), like hearth or maison-dupont."))
    return name


class Owner:
    """The one instance document: who owns the box and how it is set up."""

    def __init__(self, coll: Collection, *, clock: Callable[[], float] = time.time) -> None:
        self._coll = coll
        self._clock = clock
        # One scrypt at a time: each takes 32 MiB, and the Pi 2 has 1 GB for everything.
        self._kdf = asyncio.Semaphore(1)

    def _doc(self) -> dict[str, Any] | None:
        return self._coll.get(DOC_ID)

    @property
    def onboarded(self) -> bool:
        """Return whether the owner has set the box up."""
        doc = self._doc()
        return doc is not None and bool(doc.get("passphrase"))

    @property
    def name(self) -> str:
        """Return the box's name (its .local host name)."""
        doc = self._doc()
        return str(doc["name"]) if doc else "hearth"

    @property
    def language(self) -> str | None:
        """Return the owner's language, if chosen."""
        doc = self._doc()
        return str(doc["language"]) if doc else None

    async def _hash(self, passphrase: str) -> str:
        async with self._kdf:
            return await asyncio.to_thread(hash_passphrase, passphrase)

    def _check_new(self, passphrase: str, name: str) -> None:
        problem = strength_problem(passphrase, context=(name, "hearth"))
        if problem:
            raise OwnerError(problem)

    async def onboard(self, *, passphrase: str, name: str, language: str) -> None:
        """Set the box up: owner passphrase, language and name."""
        if self.onboarded:
            raise OwnerError(N_("This box is already set up."))
        name = check_box_name(name)
        if language not in LANGUAGES:
            raise OwnerError(N_("Choose English or French."))
        self._check_new(passphrase, name)
        doc = {"_id": DOC_ID, "name": name, "language": language,
               "passphrase": await self._hash(passphrase), "onboarded_at": self._clock()}
        current = self._doc()
        if current is not None:
            doc["_rev"] = current["_rev"]
        await self._coll.put(doc)

    async def check_passphrase(self, passphrase: str) -> bool:
        """Return whether the passphrase is the owner's."""
        doc = self._doc()
        if doc is None or not doc.get("passphrase") or len(passphrase) > 1024:
            return False
        async with self._kdf:
            return await asyncio.to_thread(verify_passphrase, passphrase, doc["passphrase"])

    async def set_passphrase(self, passphrase: str) -> None:
        """Replace the owner's passphrase (the caller ends the other sessions)."""
        doc = self._doc()
        if doc is None:
            raise OwnerError(N_("This box is not set up yet: open it in a browser first."))
        self._check_new(passphrase, doc["name"])
        doc["passphrase"] = await self._hash(passphrase)
        doc["passphrase_changed_at"] = self._clock()
        await self._coll.put(doc)

    async def update(self, *, name: str | None = None, language: str | None = None) -> None:
        """Change the box's name or language."""
        doc = self._doc()
        if doc is None:
            raise OwnerError(N_("This box is not set up yet: open it in a browser first."))
        if name is not None:
            doc["name"] = check_box_name(name)
        if language is not None:
            if language not in LANGUAGES:
                raise OwnerError(N_("Choose English or French."))
            doc["language"] = language
        await self._coll.put(doc)
