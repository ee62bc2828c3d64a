"""When the daily backup runs: a persisted next time, caught up once, with jitter."""
from __future__ import annotations

import random
import time

DAILY_HOUR = 3  # at night, when the box is idle
JITTER = 45 * 60  # so that boxes sharing a backup server don't start at one second
PLUG_GAP = 3600.0  # a disk plugged in again within an hour of a backup doesn't start one


def next_slot(now: float, *, hour: int = DAILY_HOUR, rng: random.Random | None = None) -> float:
    """Return the next daily time after `now`: `hour` o'clock local time plus jitter."""
    local = time.localtime(now)
    today = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, hour, 0, 0, 0, 0, -1))
    slot = today if today > now else time.mktime(
        (local.tm_year, local.tm_mon, local.tm_mday + 1, hour, 0, 0, 0, 0, -1))
    return slot + (rng or random).uniform(0, JITTER)


def is_due(next_run: float, now: float) -> bool:
    """Tell whether the scheduled backup should start (a missed one is due once)."""
    return next_run <= now


def plug_wants_run(last_success: float, now: float) -> bool:
    """Tell whether plugging the backup disk in should start a backup."""
    return now - last_success >= PLUG_GAP
