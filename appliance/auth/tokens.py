"""Scoped bearer tokens for the data API, stored hashed."""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.auth.sessions import token_hash
from appliance.errors import UserError
from appliance.i18n import N_

if TYPE_CHECKING:
    from appliance.store import Collection

VERBS = ("GET", "POST", "PUT", "DELETE")
PREFIX = "hth_"
_DOCTYPE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+(\.\*)?$")


class ScopeError(UserError, ValueError):
    """A scope is malformed or names something a token may not reach."""


@dataclass(frozen=True)
class Scope:
    """A doctype (or `prefix.*`) and the HTTP verbs a token may use on it."""

    doctype: str
    verbs: frozenset[str]

    @classmethod
    def parse(cls, text: str, *, private: Iterable[str] = ()) -> Scope:
        """Return the scope written as DOCTYPE[:VERB,VERB…] (no verbs: all of them)."""
        doctype, _, verbs_text = text.strip().partition(":")
        if not _DOCTYPE.match(doctype) or len(doctype) > 100:
            raise ScopeError(N_("'%(doctype)s' is not a doctype (like io.hearth.bills or "
                                "io.hearth.bank.*)"), doctype=doctype)
        if doctype in set(private):
            raise ScopeError(N_("%(doctype)s is private to the box; no token can reach it"),
                             doctype=doctype)
        verbs = frozenset(v.strip().upper() for v in verbs_text.split(",") if v.strip()) \
            if verbs_text else frozenset(VERBS)
        unknown = verbs - set(VERBS)
        if unknown or not verbs:
            raise ScopeError(N_("unknown verb %(verbs)s in '%(scope)s'; use %(known)s"),
                             verbs=", ".join(sorted(unknown)) or "(none)", scope=text,
                             known=", ".join(VERBS))
        return cls(doctype, verbs)

    def covers(self, doctype: str, verb: str) -> bool:
        """Return whether this scope allows `verb` on `doctype`."""
        if verb not in self.verbs:
            return False
        if self.doctype.endswith(".*"):
            return doctype.startswith(self.doctype[:-1])
        return doctype == self.doctype

    def __str__(self) -> str:
        verbs = "" if self.verbs == frozenset(VERBS) else ":" + ",".join(
            v for v in VERBS if v in self.verbs)
        return self.doctype + verbs


@dataclass(frozen=True)
class Token:
    """A token as stored: never its plaintext."""

    id: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: float

    def allows(self, doctype: str, verb: str) -> bool:
        """Return whether any of the token's scopes allows `verb` on `doctype`."""
        return any(s.covers(doctype, verb) for s in self.scopes)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Token:
        """Return the token a store document holds."""
        scopes = tuple(Scope(s["doctype"], frozenset(s["verbs"])) for s in doc["scopes"])
        return cls(doc["_id"], doc["name"], scopes, doc["created_at"])


class Tokens:
    """Create, check, list and revoke bearer tokens."""

    def __init__(self, coll: Collection, *, clock: Callable[[], float] = time.time) -> None:
        self._coll = coll
        self._clock = clock

    async def create(self, name: str, scopes: Iterable[Scope]) -> tuple[str, Token]:
        """Make a token and return its plaintext (shown once) and record."""
        scopes = tuple(scopes)
        name = name.strip()[:80] or "token"
        if not scopes:
            raise ScopeError("a token needs at least one scope")
        plaintext = PREFIX + secrets.token_urlsafe(32)
        doc = await self._coll.create({
            "_id": secrets.token_hex(8), "name": name, "hash": token_hash(plaintext),
            "scopes": [{"doctype": s.doctype, "verbs": sorted(s.verbs)} for s in scopes],
            "created_at": self._clock()})
        return plaintext, Token.from_doc(doc)

    def verify(self, plaintext: str) -> Token | None:
        """Return the token whose plaintext this is, or None."""
        if not plaintext.startswith(PREFIX) or len(plaintext) > 128:
            return None
        found = self._coll.find({"hash": token_hash(plaintext)}, limit=1)
        return Token.from_doc(found[0]) if found else None

    def list(self) -> list[Token]:
        """Return every token, newest first."""
        return sorted((Token.from_doc(d) for d in self._coll.all()),
                      key=lambda t: t.created_at, reverse=True)

    async def revoke(self, token_id: str) -> bool:
        """Revoke a token; return whether it existed."""
        doc = self._coll.get(token_id)
        if doc is None:
            return False
        await self._coll.delete(doc["_id"], doc["_rev"])
        return True
