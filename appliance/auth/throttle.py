"""Password checks rationed: per client, in flight, and for everyone together.

An attempt is reserved before the slow hash is computed, and counted as a failure
until it succeeds, so concurrent guesses from one client can't all slip in before the
first one fails. At most `in_flight` checks run at once (more are refused at once,
never queued, so the owner's own check waits for at most that many), and at most
`rate` checks end other than well in `window` seconds for all clients together, so
that many addresses can't guess either. A browser the owner signed in with before
(`known=True`) passes the last two limits, never the per-client one.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass
class _Record:
    failures: int
    blocked_until: float
    last: float


class Throttled(Exception):
    """A check refused without being made; `wait` says for how many seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"try again in {wait:.0f} s")
        self.wait = wait

    @property
    def seconds(self) -> int:
        """Return the wait rounded up to whole seconds, at least 1 (for Retry-After)."""
        return max(1, math.ceil(self.wait))


class Attempt:
    """One reserved check: counted as a failure unless `succeeded()` is called."""

    def __init__(self, throttle: LoginThrottle, client: str, stamp: float | None) -> None:
        self._throttle = throttle
        self._client = client
        self._stamp = stamp
        self.delay = 0.0  # the wait imposed on the client if this attempt fails

    def succeeded(self) -> None:
        """Forget the client's failures and give the attempt back to the global rate."""
        self._throttle._forget(self._client, self._stamp)
        self.delay = 0.0

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._throttle._in_flight -= 1


class LoginThrottle:
    """Ration password checks: after `free` failures a client waits longer each time."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, free: int = 3,
                 base: float = 1.0, cap: float = 300.0, forget_after: float = 3600.0,
                 max_clients: int = 10_000, in_flight: int = 2, rate: int = 30,
                 window: float = 60.0) -> None:
        self._clock = clock
        self._free = free
        self._base = base
        self._cap = cap
        self._forget_after = forget_after
        self._max = max_clients
        self._max_in_flight = in_flight
        self._rate = rate
        self._window = window
        self._in_flight = 0
        self._recent: deque[float] = deque()  # when each counted check began, oldest first
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

    def reserve(self, client: str, *, known: bool = False) -> Attempt:
        """Reserve a check for `client`, counted as failed until it succeeds.

        Use it as a context manager around the check (it frees the slot in flight).
        Raise Throttled, with no check made, if the client must wait, if `in_flight`
        checks already run, or if the global rate is spent (the last two not when
        `known`).
        """
        wait = self.wait_time(client)
        if wait > 0:
            raise Throttled(wait)
        now = self._clock()
        stamp: float | None = None
        if not known:
            if self._in_flight >= self._max_in_flight:
                raise Throttled(1.0)
            while self._recent and now - self._recent[0] >= self._window:
                self._recent.popleft()
            if len(self._recent) >= self._rate:
                raise Throttled(self._recent[0] + self._window - now)
            self._recent.append(now)
            stamp = now
        self._in_flight += 1
        attempt = Attempt(self, client, stamp)
        attempt.delay = self.failure(client)
        return attempt

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

    def _forget(self, client: str, stamp: float | None) -> None:
        self.success(client)
        if stamp is not None:
            try:
                self._recent.remove(stamp)
            except ValueError:
                pass  # already out of the window
