"""Login sessions: random cookie tokens, stored only as their hash."""
from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.store import Collection

# last_seen is refreshed at most this often, so browsing does not write to the disk.
TOUCH_EVERY = 3600.0


def token_hash(token: str) -> str:
    """Return the stored form of a bearer or session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    """One signed-in browser."""

    id: str
    csrf: str
    created_at: float
    last_seen: float
    user_agent: str
    address: str
    rev: str

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Session:
        """Return the session a store document holds."""
        return cls(doc["_id"], doc["csrf"], doc["created_at"], doc["last_seen"],
                   doc.get("user_agent", ""), doc.get("address", ""), doc["_rev"])


class Sessions:
    """Create, look up and end the owner's sessions.

    A session ends `max_age` seconds after it was last used, and `lifetime` seconds
    after it began however much it is used, so a stolen cookie doesn't last forever.
    """

    def __init__(self, coll: Collection, *, max_age: float, lifetime: float = float("inf"),
                 clock: Callable[[], float] = time.time) -> None:
        self._coll = coll
        self._max_age = max_age
        self._lifetime = lifetime
        self._clock = clock

    def _over(self, created_at: float, last_seen: float, now: float) -> bool:
        return now - last_seen > self._max_age or now - created_at > self._lifetime

    async def create(self, *, user_agent: str, address: str) -> tuple[str, Session]:
        """Start a session and return its cookie token and record."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        doc = await self._coll.create({
            "_id": token_hash(token), "csrf": secrets.token_urlsafe(32),
            "created_at": now, "last_seen": now,
            "user_agent": user_agent[:200], "address": address[:64]})
        return token, Session.from_doc(doc)

    def lookup(self, token: str) -> Session | None:
        """Return the live session for a cookie token, or None."""
        if not token or len(token) > 128:
            return None
        doc = self._coll.get(token_hash(token))
        if doc is None:
            return None
        session = Session.from_doc(doc)
        if self._over(session.created_at, session.last_seen, self._clock()):
            return None
        return session

    async def touch(self, session: Session) -> None:
        """Note that the session was used, at most once an hour."""
        now = self._clock()
        if now - session.last_seen < TOUCH_EVERY:
            return
        doc = self._coll.get(session.id)
        if doc is None or doc["_rev"] != session.rev:
            return
        doc["last_seen"] = now
        await self._coll.put(doc)

    async def end(self, session_id: str) -> bool:
        """End one session; return whether it existed."""
        doc = self._coll.get(session_id)
        if doc is None:
            return False
        await self._coll.delete(doc["_id"], doc["_rev"])
        return True

    async def end_all(self, *, keep: str | None = None) -> int:
        """End every session but `keep`; return how many ended."""
        ended = 0
        for doc in self._coll.all():
            if doc["_id"] != keep:
                await self._coll.delete(doc["_id"], doc["_rev"])
                ended += 1
        return ended

    def list(self) -> list[Session]:
        """Return the live sessions, most recently used first."""
        now = self._clock()
        live = [Session.from_doc(d) for d in self._coll.all()]
        live = [s for s in live if not self._over(s.created_at, s.last_seen, now)]
        return sorted(live, key=lambda s: s.last_seen, reverse=True)

    async def purge_expired(self) -> int:
        """Delete expired sessions; return how many."""
        now = self._clock()
        gone = 0
        for doc in self._coll.all():
            if self._over(doc["created_at"], doc["last_seen"], now):
                await self._coll.delete(doc["_id"], doc["_rev"])
                gone += 1
        return gone
