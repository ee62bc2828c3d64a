"""Login throttling per client, with delays that grow with each failure."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int
    blocked_until: float
    last: float


class LoginThrottle:
    """Count failed logins per client; after `free` failures each try waits longer."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, free: int = 3,
                 base: float = 1.0, cap: float = 300.0, forget_after: float = 3600.0,
                 max_clients: int = 10_000) -> None:
        self._clock = clock
        self._free = free
        self._base = base
        self._cap = cap
        self._forget_after = forget_after
        self._max = max_clients
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def wait_time(self, client: str) -> float:
        """Return the seconds this client must still wait before its next try."""
        record = self._records.get(client)
        if record is None:
            return 0.0
        now = self._clock()
        if now - record.last > self._forget_after:
            del self._records[client]
            return 0.0
        return max(0.0, record.blocked_until - now)

    def failure(self, client: str) -> float:
        """Record a failed try and return the delay now imposed on the client."""
        now = self._clock()
        record = self._records.pop(client, None)
        if record is None or now - record.last > self._forget_after:
            record = _Record(0, 0.0, now)
        record.failures += 1
        record.last = now
        extra = record.failures - self._free
        delay = min(self._cap, self._base * 2 ** (extra - 1)) if extra > 0 else 0.0
        record.blocked_until = now + delay
        self._records[client] = record
        while len(self._records) > self._max:
            self._records.popitem(last=False)
        return delay

    def success(self, client: str) -> None:
        """Forget the client's failures after a good login."""
        self._records.pop(client, None)
