"""Retention: which snapshots are kept, and prune freeing what only forgotten ones used."""
from __future__ import annotations

import os
import time
from pathlib import Path

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.checker import Checker
from appliance.backup.engine.pruner import Pruner
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import Restorer
from appliance.backup.engine.retention import Policy, select
from tests.backup.conftest import fingerprint, make_data, packs

DAY = 86400


def test_the_newest_snapshot_of_each_day_week_and_month_is_kept() -> None:
    now = time.mktime((2024, 6, 30, 20, 0, 0, 0, 0, -1))
    taken = [Snapshot(f"{n:032x}", now - n * DAY / 2, "box", "t") for n in range(400)]
    kept, dropped = select(taken, Policy(daily=7, weekly=4, monthly=6))
    assert taken[0] in kept and len(kept) + len(dropped) == 400
    days = {time.strftime("%Y-%m-%d", time.localtime(s.time)) for s in kept}
    assert len(days) == len(kept) <= 7 + 4 + 6  # one a bucket, never two the same day
    for back in range(7):  # each of the last 7 days keeps its newest snapshot
        day = [s for s in taken if time.localtime(s.time).tm_yday ==
               time.localtime(now - back * DAY).tm_yday]
        assert day[0] in kept and all(s not in kept for s in day[1:])
    assert select(taken[:1], Policy(0, 0, 0))[0] == taken[:1]  # never forget the last one


def test_prune_frees_what_only_forgotten_snapshots_used(repo: Repository,
                                                         tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", big=1 << 20)
    video = data / "files" / "video.mp4"
    for _ in range(3):
        video.write_bytes(os.urandom(4 << 20))
        Archiver(repo, Sources(data), pack_size=1 << 20).run()
    before = sum(p.stat().st_size for p in packs(repo.path))
    report = Pruner(repo, Policy(daily=1, weekly=0, monthly=0)).run()
    after = sum(p.stat().st_size for p in packs(repo.path))
    assert len(report.forgotten) == 2 and len(repo.snapshots()) == 1
    assert before - after > 7 << 20 and report.bytes_freed == before - after
    assert Checker(repo, read_data=True).run().ok
    Restorer(repo, repo.find_snapshot(None), tmp_path / "out").run()
    assert fingerprint(tmp_path / "out") == fingerprint(data, skip=("tmp", "system"))
    again = Archiver(repo, Sources(data)).run()
    assert again.stats["new_blobs"] <= 3  # the index still knows every kept blob


def test_a_dry_run_changes_nothing(repo: Repository, tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", big=1 << 10)
    for _ in range(2):
        Archiver(repo, Sources(data)).run()
    listing = sorted(p.name for p in repo.path.rglob("*"))
    report = Pruner(repo, Policy(1, 0, 0), dry_run=True).run()
    assert len(report.forgotten) == 1
    assert sorted(p.name for p in repo.path.rglob("*")) == listing
