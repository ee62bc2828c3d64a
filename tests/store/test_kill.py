"""kill -9 at random moments: every acknowledged write is there after, nothing is damaged."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from appliance.store import Store
from appliance.store.folder import JOURNAL
from appliance.store.journal import scan
from tests.store.worker import DOCTYPE

REPO = Path(__file__).resolve().parents[2]
KILLS_PER_LANE = 100
LANES = 3
REV = re.compile(r"([1-9][0-9]*)-[0-9a-f]{32}")


def run_and_kill(root: Path, rng: random.Random) -> list[list[Any]]:
    """Start a writer process, SIGKILL it at a random moment, return what it acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.worker", "write", str(root), "8"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    opened = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            opened.set()

    reader = threading.Thread(target=read)
    reader.start()
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.0, 0.25))  # sometimes while it starts, opens, replays
    else:
        opened.wait(10)
        time.sleep(rng.uniform(0.0, 0.08))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    proc.stdout.close()
    # A line cut by the kill has no newline: that write was never reported.
    return [json.loads(line) for line in lines if line.endswith(b"\n")]


def check_store(
    root: Path, expected: dict[str, dict[str, Any] | None], deleting: set[str]
) -> int:
    """Reopen the store; assert every acknowledged write is there and nothing is damaged."""
    with Store.open_sync(root) as store:
        coll = store.collection_sync(DOCTYPE)
        docs = {doc["_id"]: doc for doc in coll.all()}
    for doc_id, doc in docs.items():
        assert REV.fullmatch(doc["_rev"]), doc
        assert set(doc) <= {"_id", "_rev", "writer", "seq", "pad", "count"}, doc
    for doc_id, acked in expected.items():
        if acked is None:
            assert doc_id not in docs, f"acknowledged delete of {doc_id} was lost"
            continue
        found = docs.get(doc_id)
        if found is None and doc_id in deleting:
            continue  # deleted, but killed before it could say so
        assert found is not None, f"acknowledged write of {doc_id} was lost"
        stored_n = int(found["_rev"].split("-")[0])
        acked_n = int(acked["_rev"].split("-")[0])
        assert stored_n >= acked_n, f"{doc_id} went back from {acked['_rev']} to {found['_rev']}"
        if stored_n == acked_n:
            assert found == acked
    folder = root / DOCTYPE
    journal = (folder / JOURNAL).read_bytes()
    found_scan = scan(journal)
    assert found_scan.valid_end == len(journal) and not found_scan.skipped
    assert not list(folder.glob("journal.damaged-*")), "a kill damaged the middle of the journal"
    return len(docs)


def lane(root: Path, seed: int, results: dict[int, Any]) -> None:
    rng = random.Random(seed)
    expected: dict[str, dict[str, Any] | None] = {}
    deleting: set[str] = set()
    acked_total = 0
    try:
        for _ in range(KILLS_PER_LANE):
            for record in run_and_kill(root, rng):
                if record[0] == "put":
                    expected[record[1]] = record[3]
                    acked_total += 1
                elif record[0] == "deleting":
                    deleting.add(record[1])
                elif record[0] == "del":
                    expected[record[1]] = None
                    acked_total += 1
            count = check_store(root, expected, deleting)
        results[seed] = (acked_total, count)
    except BaseException as exc:  # reported by the test thread
        results[seed] = exc


def test_kill_9_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    started = time.monotonic()
    results: dict[int, Any] = {}
    lanes = [threading.Thread(target=lane, args=(tmp_path / f"lane{n}", n, results))
             for n in range(LANES)]
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()
    for outcome in results.values():
        if isinstance(outcome, BaseException):
            raise outcome
    acked = sum(outcome[0] for outcome in results.values())
    assert len(results) == LANES
    assert acked > 10 * LANES * KILLS_PER_LANE, "the writers barely wrote anything"
    print(f"{LANES * KILLS_PER_LANE} kills, {acked} acknowledged writes, "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    assert os.cpu_count()
