"""What starts a backup by itself: the daily schedule and the backup disk plugged in."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from appliance.backup.box import backupschedule
from appliance.backup.box.backupbox import BackupBox
from appliance.backup.box.backupplan import DISK, PlanError
from appliance.backup.box.operation import Busy
from appliance.platform.disks import ADDED, Disk

logger = logging.getLogger(__name__)

IDLE_CHECK = 60.0  # how often the schedule is looked at when nothing wakes it earlier


def tick(box: BackupBox) -> bool:
    """Start the scheduled backup if it is due; return whether it started."""
    plan = box.plan
    if not plan.ready or box.busy() or not box.core.available or not box.core.owner.onboarded:
        return False
    if not backupschedule.is_due(plan.next_run, box.clock()):
        return False
    box.start_backup("schedule")
    return True


def on_plug(box: BackupBox, action: str, disk: Disk) -> bool:
    """Start a backup when the chosen backup disk is plugged in; return whether it started."""
    target = box.plan.target
    if action != ADDED or target is None or target.kind != DISK or disk.uuid != target.uuid:
        return False
    if not box.plan.ready or not box.core.available or \
            not backupschedule.plug_wants_run(box.plan.last_success, box.clock()):
        return False
    try:
        box.start_backup("backup disk plugged in")
    except Busy:
        return False
    return True


async def run_schedule(box: BackupBox, wake: asyncio.Event) -> None:
    """Start each scheduled backup when it is due, until cancelled; `wake` looks again now."""
    while True:
        try:
            tick(box)
        except Exception:  # the schedule must outlive one bad turn
            logger.exception("the backup schedule failed to start a backup")
        wait = max(1.0, min(box.plan.next_run - box.clock(), IDLE_CHECK))
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), wait)
