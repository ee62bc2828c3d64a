"""When an account runs: its slot in the connector's time window, and backoff after errors."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, tzinfo

BACKOFF_BASE = 300.0  # seconds before the first retry of a transient error
BACKOFF_CAP = 6 * 3600.0
MAX_RETRIES = 5  # transient failures retried early; then the next regular run
CATCH_UP_SPREAD = 300.0  # seconds over which missed runs start once the box is back


def _at(day: date, hours: float, tz: tzinfo | None) -> float:
    moment = datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=hours)
    return moment.timestamp()


def next_run(frequency: str, window: tuple[int, int], slot: float, after: float,
             tz: tzinfo | None = None) -> float:
    """Return the first moment after `after` when an account with this slot runs.

    `slot` (0 ≤ slot < 1, drawn once per account) places the run inside the
    window, so a hundred boxes do not call one vendor at the same second; it
    also picks the weekday of a weekly connector and the day of a monthly one.
    """
    start, end = window
    span = end - start
    pick = int(slot * 7919)
    today = datetime.fromtimestamp(after, tz).date()  # tz None: the box's local time
    if frequency == "hourly":
        minute = slot * 60.0
        for day_offset in range(3):
            day = today + timedelta(days=day_offset)
            for hour in range(start, end):
                moment = _at(day, hour + minute / 60.0, tz)
                if moment > after:
                    return moment
        raise AssertionError("unreachable: an hour in the next three days")
    for day_offset in range(-1, 64):
        day = today + timedelta(days=day_offset)
        if frequency == "weekly" and day.weekday() != pick % 7:
            continue
        if frequency == "monthly" and day.day != 1 + pick % 28:
            continue
        moment = _at(day, start + slot * span, tz)
        if moment > after:
            return moment
    raise AssertionError(f"unreachable: a {frequency} slot in the next two months")


def backoff(failures: int, rng: random.Random) -> float:
    """Return the seconds to wait before retry number `failures` (1, 2, …), with jitter."""
    delay = min(BACKOFF_BASE * 2.0 ** max(failures - 1, 0), BACKOFF_CAP)
    return delay * rng.uniform(0.8, 1.2)
