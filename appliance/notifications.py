"""Notifications shown to the owner: what the box wants them to know."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.store import Collection


class Notifications:
    """Add, list and mark notifications as read."""

    def __init__(self, coll: Collection, *, clock: Callable[[], float] = time.time) -> None:
        self._coll = coll
        self._clock = clock

    async def add(self, kind: str, title: str, body: str = "",
                  about: dict[str, str] | None = None) -> dict[str, Any]:
        """Record a notification and return it."""
        return await self._coll.create({
            "kind": kind, "title": title, "body": body, "about": about,
            "created_at": self._clock(), "read": False})

    def list(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest notifications first."""
        return self._coll.find({}, sort=[{"created_at": "desc"}], limit=limit)

    def unread_count(self) -> int:
        """Return how many notifications are unread."""
        return len(self._coll.find({"read": False}))

    async def mark_read(self, note_id: str) -> bool:
        """Mark one notification read; return whether it existed."""
        doc = self._coll.get(note_id)
        if doc is None:
            return False
        if not doc["read"]:
            doc["read"] = True
            await self._coll.put(doc)
        return True

    async def mark_all_read(self) -> int:
        """Mark every notification read; return how many changed."""
        changed = 0
        for doc in self._coll.find({"read": False}):
            doc["read"] = True
            await self._coll.put(doc)
            changed += 1
        return changed
