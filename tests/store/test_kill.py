"""kill -9 at random moments: every acknowledged write is there after, nothing is damaged."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from appliance.store import Store
from appliance.store.folder import JOURNAL
from appliance.store.journal import scan
from tests.store.worker import DOCTYPE

REPO = Path(__file__).resolve().parents[2]
KILLS_PER_LANE = 100
LANES = 3
REV = re.compile(r"([1-9][0-9]*)-[0-9a-f]{32}")
Record = list[Any]


class Writers:
    """A process that forks writer processes on demand (so each starts in milliseconds)."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.worker", "spawn", str(root), "8"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,))
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(b"")

    def _next(self) -> Record | None:
        line = self._lines.get(timeout=30)
        assert line, "the spawner died"
        try:
            record: Record = json.loads(line)
        except ValueError:
            return None  # a line cut by the kill: that write was never reported
        return record

    def run_and_kill(self, rng: random.Random) -> list[Record]:
        """Start a writer, SIGKILL it at a random moment, return what it acknowledged."""
        self._stdin.write(b"go\n")
        self._stdin.flush()
        acked: list[Record] = []
        while (record := self._next()) is None or record[0] != "pid":
            if record is not None:
                acked.append(record)
        pid = record[1]
        # Sometimes while it opens the store (replays, cuts a torn tail), mostly while
        # eight coroutines write, create, update, delete, and compact.
        time.sleep(rng.uniform(0.0, 0.1))
        os.kill(pid, signal.SIGKILL)
        while (record := self._next()) != ["exited", pid]:
            if record is not None:
                acked.append(record)
        return acked

    def close(self) -> None:
        self._stdin.close()
        self.proc.wait(10)
        self._reader.join()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def check_store(
    root: Path, expected: dict[str, dict[str, Any] | None], deleting: set[str]
) -> int:
    """Reopen the store; assert every acknowledged write is there and nothing is damaged."""
    with Store.open_sync(root) as store:
        docs = {doc["_id"]: doc for doc in store.collection_sync(DOCTYPE).all()}
    for doc in docs.values():
        assert REV.fullmatch(doc["_rev"]), doc
        assert set(doc) <= {"_id", "_rev", "writer", "seq", "pad", "count"}, doc
    for doc_id, acked in expected.items():
        found = docs.get(doc_id)
        if acked is None:
            assert found is None, f"acknowledged delete of {doc_id} was lost"
            continue
        if found is None and doc_id in deleting:
            continue  # deleted, but killed before it could say so
        assert found is not None, f"acknowledged write of {doc_id} was lost"
        stored_n, acked_n = (int(d["_rev"].split("-")[0]) for d in (found, acked))
        assert stored_n >= acked_n, f"{doc_id} went back from {acked['_rev']} to {found['_rev']}"
        if stored_n == acked_n:
            assert found == acked
    folder = root / DOCTYPE
    journal = (folder / JOURNAL).read_bytes()
    found_scan = scan(journal)
    assert not journal[found_scan.valid_end:].strip(b"\0") and not found_scan.skipped
    assert not list(folder.glob("journal.damaged-*")), "a kill damaged the middle of the journal"
    return len(docs)


def lane(root: Path, seed: int, results: dict[int, Any]) -> None:
    """Kill writers on one store again and again, checking it after each kill."""
    rng = random.Random(seed)
    expected: dict[str, dict[str, Any] | None] = {}
    deleting: set[str] = set()
    acked = 0
    writers = Writers(root)
    try:
        for _ in range(KILLS_PER_LANE):
            for record in writers.run_and_kill(rng):
                if record[0] == "put":
                    expected[record[1]] = record[3]
                elif record[0] == "deleting":
                    deleting.add(record[1])
                elif record[0] == "del":
                    expected[record[1]] = None
                acked += record[0] in ("put", "del")
            check_store(root, expected, deleting)
        results[seed] = acked
    except BaseException as exc:  # raised again in the test's thread
        results[seed] = exc
    finally:
        writers.close()


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
    acked = sum(results.values())
    assert len(results) == LANES
    assert acked > 20 * LANES * KILLS_PER_LANE, "the writers barely wrote anything"
    compacted = [p for p in tmp_path.glob("lane*/*/snapshot.json") if p.stat().st_size > 4096]
    assert len(compacted) == LANES, "the writers never reached a compaction"
    print(f"\n{LANES * KILLS_PER_LANE} kills, {acked} acknowledged writes, "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
