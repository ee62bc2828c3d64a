"""Which snapshots to keep: the newest one of each of the last N days, weeks and months."""
from __future__ import annotations

import time
from dataclasses import dataclass

from appliance.backup.engine.backupsnapshot import Snapshot

BUCKETS = {"daily": "%Y-%m-%d", "weekly": "%G-W%V", "monthly": "%Y-%m"}


@dataclass(frozen=True)
class Policy:
    """How many days, weeks and months keep a snapshot each."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 12

    def describe(self) -> str:
        """Return the policy in words."""
        return (f"the newest snapshot of each of the last {self.daily} days, {self.weekly} "
                f"weeks and {self.monthly} months")


def select(snapshots: list[Snapshot], policy: Policy) -> tuple[list[Snapshot], list[Snapshot]]:
    """Return (kept, dropped); the newest snapshot is always kept."""
    newest_first = sorted(snapshots, key=lambda s: s.time, reverse=True)
    kept = {s.id for s in newest_first[:1]}
    for rule, pattern in BUCKETS.items():
        wanted, last = getattr(policy, rule), None
        for snapshot in newest_first:
            bucket = time.strftime(pattern, time.localtime(snapshot.time))
            if bucket != last and wanted > 0:
                kept.add(snapshot.id)
                wanted -= 1
            last = bucket
    return ([s for s in newest_first if s.id in kept],
            [s for s in newest_first if s.id not in kept])
