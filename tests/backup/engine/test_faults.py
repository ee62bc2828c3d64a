"""Faults: kill -9 mid-backup, locks left by dead or live processes (disk faults: test_disks)."""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.backuperrors import RepositoryLocked
from appliance.backup.engine.checker import Checker
from appliance.backup.engine.lock import LockInfo, RepositoryLock
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import Restorer
from tests.backup.conftest import fingerprint, make_data, run_worker

KILLS = 6


def test_kill_9_at_random_moments_leaves_a_consistent_repository(
        tmp_path: Path, key: str) -> None:
    rng = random.Random()
    data = make_data(tmp_path / "data", big=8 << 20, small=300)
    repo = Repository.init(tmp_path / "repo", key)
    done = run_worker(repo.path, data, key)  # a first snapshot, whole
    assert done.communicate(timeout=60)[0].endswith(b"\n") and done.returncode == 0
    interrupted = 0
    for kill in range(KILLS):
        (data / "files" / f"new-{kill}.bin").write_bytes(rng.randbytes(32 << 20))
        snapshots = len(repo.snapshots())
        worker = run_worker(repo.path, data, key)
        assert worker.stdout is not None and worker.stdout.readline() == b"started\n"
        time.sleep(rng.uniform(0, 0.3))
        worker.kill()
        worker.communicate()
        interrupted += len(repo.snapshots()) == snapshots
        report = Checker(Repository.open(repo.path, key), read_data=True).run()
        assert report.ok, f"after kill {kill}: {report.damage}"
    assert interrupted >= KILLS // 3, "the kills came too late to test anything"
    finished = run_worker(repo.path, data, key)  # the stale lock is cleared; the run completes
    out, _ = finished.communicate(timeout=60)
    assert finished.returncode == 0
    repo = Repository.open(repo.path, key)
    assert repo.snapshots()[-1].id == out.decode().split()[-1]
    Restorer(repo, repo.snapshots()[-1], tmp_path / "out").run()
    assert fingerprint(tmp_path / "out") == fingerprint(data, skip=("tmp", "system"))
    assert Checker(repo, read_data=True).run().ok


def test_a_live_lock_refuses_and_a_dead_one_is_cleared(tmp_path: Path, key: str) -> None:
    repo = Repository.init(tmp_path / "repo", key)
    (tmp_path / "data").mkdir()
    with RepositoryLock.acquire(repo.path, "backup"):
        with pytest.raises(RepositoryLocked, match=f"process {os.getpid()} on"):
            Archiver(repo, Sources(tmp_path / "data")).run()
    elsewhere = LockInfo("another-box", 4242, time.time(), "backup")
    (repo.path / "lock").write_text(json.dumps(elsewhere.__dict__))
    with pytest.raises(RepositoryLocked, match="another-box.*delete"):
        Archiver(repo, Sources(tmp_path / "data")).run()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    gone = LockInfo(socket.gethostname(), int(dead), time.time(), "backup", "", 1)
    (repo.path / "lock").write_text(json.dumps(gone.__dict__))
    assert Archiver(repo, Sources(tmp_path / "data")).run()
    assert not (repo.path / "lock").exists()
