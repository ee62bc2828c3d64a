"""Write locks (RFC 4918 §6–7), kept in memory: short-lived by nature, gone on restart."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.webdav.errors import DavError
from services.webdav.headers import INFINITY
from services.webdav.urls import is_within

logger = logging.getLogger(__name__)

MAX_LOCKS = 10_000  # a client gone wild must not eat the box's memory


@dataclass
class Lock:
    """A write lock on a path, and on everything beneath it at depth infinity."""

    token: str
    root: str
    depth: int
    exclusive: bool
    owner: str | None  # the DAV:owner element the client sent, as XML text
    principal: str  # who took it: only they may use its token
    timeout: int
    expires: float
    collection: bool = False  # its root is a folder: its href ends with /

    def covers(self, path: str) -> bool:
        """Return whether the lock's scope includes path."""
        return path == self.root or (self.depth == INFINITY and is_within(path, self.root))


class LockTable:
    """The live locks of one box."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._locks: dict[str, Lock] = {}

    def _live(self) -> list[Lock]:
        now = self._clock()
        for token in [t for t, lock in self._locks.items() if lock.expires <= now]:
            logger.info("lock on %s expired", self._locks.pop(token).root)
        return list(self._locks.values())

    def get(self, token: str) -> Lock | None:
        """Return the live lock with this token, or None."""
        return next((lock for lock in self._live() if lock.token == token), None)

    def active(self) -> bool:
        """Tell whether any lock is held at all (most of the time: none)."""
        return bool(self._live())

    def covering(self, path: str) -> list[Lock]:
        """Return the locks whose scope includes path."""
        return [lock for lock in self._live() if lock.covers(path)]

    def beneath(self, path: str) -> list[Lock]:
        """Return the locks rooted at path or anywhere beneath it."""
        return [lock for lock in self._live() if is_within(lock.root, path)]

    def conflicts(self, path: str, depth: int, exclusive: bool) -> list[Lock]:
        """Return the locks a new lock on path would clash with."""
        overlapping = self.covering(path)
        if depth == INFINITY:
            overlapping += [lock for lock in self.beneath(path) if lock.root != path]
        return [lock for lock in overlapping if exclusive or lock.exclusive]

    def add(self, path: str, *, depth: int, exclusive: bool, owner: str | None,
            principal: str, timeout: int, collection: bool = False) -> Lock:
        """Take a new lock (conflicts must have been checked) and return it."""
        if len(self._live()) >= MAX_LOCKS:
            raise DavError(503, "Too many locks are held on this box; try again in a few "
                                "minutes, when they expire.")
        lock = Lock(f"opaquelocktoken:{uuid.uuid4()}", path, depth, exclusive, owner,
                    principal, timeout, self._clock() + timeout, collection)
        self._locks[lock.token] = lock
        return lock

    def refresh(self, lock: Lock, timeout: int) -> None:
        """Give a lock a new timeout, counted from now."""
        lock.timeout, lock.expires = timeout, self._clock() + timeout

    def remaining(self, lock: Lock) -> int:
        """Return the seconds a lock has left."""
        return max(0, round(lock.expires - self._clock()))

    def remove(self, token: str) -> None:
        """Drop a lock."""
        self._locks.pop(token, None)

    def forget(self, path: str) -> None:
        """Drop every lock rooted at path or beneath it (the resources are gone)."""
        for lock in self.beneath(path):
            del self._locks[lock.token]
