"""Benchmark the document store against SQLite in the same run.

    python bench/store_bench.py [--n N] [--docs D] [--dir DIR]

Measures, on this machine's disk:
- durable inserts per second with 1, 8 and 64 concurrent writers (asyncio tasks),
  each insert acknowledged only once fsynced; SQLite peer: WAL, synchronous=FULL,
  one committed transaction per insert, with 1, 8 and 64 threads, each with its own
  connection (SQLite's C code runs outside the GIL, so its writers really overlap,
  and it is called directly, without the thread hop an asyncio caller would need:
  every advantage goes to SQLite). SQLite serialises writers and has no group
  commit, so its best figure is usually the single-thread one; the last rows
  compare with that best;
- finds by an indexed field, and by an unindexed one, in a D-document collection
  (SQLite peer: the same JSON bodies in a table with an index, rows parsed back);
- start-up of a D-document collection, in a fresh process: from a snapshot, and
  from a journal never compacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.store import Store  # noqa: E402

DOCTYPE = "io.hearth.bank.operations"
ACCOUNTS = 1000


def operation(i: int) -> dict[str, Any]:
    """Return a bank operation shaped like the ones connectors store."""
    return {
        "account": f"acc-{i % ACCOUNTS:04d}", "date": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        "amount": round(random.uniform(-300, 300), 2), "currency": "EUR",
        "label": f"CB CARREFOUR MARKET {i} LYON", "raw_label": f"PAIEMENT CB {i:08d}",
        "category": random.choice(["food", "health", "transport", "housing"]),
        "vendor_ref": f"v{i}", "bills": [], "reimbursements": [],
    }


# -- durable inserts ---------------------------------------------------------------

async def hearth_inserts(folder: Path, n: int, writers: int) -> float:
    """Return acknowledged inserts per second with `writers` concurrent tasks."""
    async with await Store.open(folder) as store:
        coll = await store.collection(DOCTYPE)

        async def writer(k: int) -> None:
            for i in range(k, n, writers):
                await coll.create(operation(i))
        started = time.perf_counter()
        await asyncio.gather(*(writer(k) for k in range(writers)))
        return n / (time.perf_counter() - started)


def sqlite_connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=120)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, rev TEXT, "
               "account TEXT, body TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS by_account ON docs(account)")
    return db


def sqlite_insert(db: sqlite3.Connection, i: int) -> None:
    doc = operation(i)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO docs VALUES (?, ?, ?, ?)",
               (f"{i:032x}", "1-x", doc["account"], json.dumps(doc)))
    db.execute("COMMIT")


def sqlite_inserts(path: Path, n: int, writers: int) -> float:
    """Return SQLite's committed inserts per second with `writers` threads, one connection each."""
    connections = [sqlite_connect(path) for _ in range(writers)]

    def writer(k: int) -> None:
        for i in range(k, n, writers):
            sqlite_insert(connections[k], i)
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = n / (time.perf_counter() - started)
    for db in connections:
        db.close()
    return rate


# -- finds and start-up at D documents ---------------------------------------------

def build(folder: Path, sqlite_path: Path, docs: int, *, compact: bool) -> None:
    """Fill a collection (and the SQLite peer) with D operations."""
    async def fill() -> None:
        compact_at = 4 * 1024 * 1024 if compact else 1 << 40
        async with await Store.open(folder, compact_at=compact_at) as store:
            coll = await store.collection(DOCTYPE, indexes=("account",))
            for start in range(0, docs, 5000):
                chunk = [operation(i) for i in range(start, min(docs, start + 5000))]
                await asyncio.to_thread(coll.table.insert_multiple, chunk)
            if compact:
                await coll.compact()
    asyncio.run(fill())
    if compact:
        db = sqlite_connect(sqlite_path)
        db.execute("BEGIN")
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)",
                       ((f"{i:032x}", "1-x", d["account"], json.dumps(d))
                        for i, d in ((i, operation(i)) for i in range(docs))))
        db.execute("COMMIT")
        db.close()


def finds(folder: Path, sqlite_path: Path, queries: int) -> dict[str, float]:
    """Return finds per second, indexed and not, for the store and SQLite."""
    accounts = [f"acc-{random.randrange(ACCOUNTS):04d}" for _ in range(queries)]
    refs = [f"v{random.randrange(ACCOUNTS * 10)}" for _ in range(max(3, queries // 50))]
    results: dict[str, float] = {}
    with Store.open_sync(folder) as store:
        coll = store.collection_sync(DOCTYPE, indexes=("account",))
        results["hearth indexed"] = rate(lambda a: coll.find({"account": a}), accounts)
        results["hearth scan"] = rate(lambda r: coll.find({"vendor_ref": r}), refs)
    db = sqlite3.connect(sqlite_path)

    def select(sql: str, value: str) -> list[Any]:
        return [json.loads(body) for (body,) in db.execute(sql, (value,))]
    results["sqlite indexed"] = rate(
        lambda a: select("SELECT body FROM docs WHERE account = ?", a), accounts)
    results["sqlite scan"] = rate(
        lambda r: select("SELECT body FROM docs WHERE json_extract(body, '$.vendor_ref') = ?",
                         r), refs)
    db.close()
    return results


def rate(find: Callable[[str], list[Any]], values: list[str]) -> float:
    started = time.perf_counter()
    for value in values:
        assert find(value), value
    return len(values) / (time.perf_counter() - started)


def startup(folder: Path) -> tuple[float, float]:
    """Return the best of 3 start-ups (seconds) and the peak memory (MiB), each in a new process."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, __file__, "--probe", str(folder)],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    best = min(runs, key=lambda r: r["seconds"])
    return best["seconds"], best["rss_mib"]


def probe(folder: Path) -> None:
    """Open the store and its collection (with its index), print the time and memory."""
    async def run() -> float:
        started = time.perf_counter()
        async with await Store.open(folder) as store:
            await store.collection(DOCTYPE, indexes=("account",))
            return time.perf_counter() - started
    seconds = asyncio.run(run())
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec.
    status = Path("/proc/self/status").read_text()
    peak_kib = int(status.split("VmHWM:")[1].split()[0])
    print(json.dumps({"seconds": seconds, "rss_mib": peak_kib / 1024}))


# -- report ------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="inserts per run (default 3000)")
    parser.add_argument("--docs", type=int, default=100_000,
                        help="documents for the find and start-up runs (default 100000)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write (default: a temporary folder; use the disk to test)")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return
    random.seed(1)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        print(f"{'measure':<44}{'hearth':>12}{'sqlite':>12}{'ratio':>9}")
        inserts = {}
        for writers in (1, 8, 64):
            ours = asyncio.run(hearth_inserts(work / f"ins{writers}", args.n, writers))
            theirs = sqlite_inserts(work / f"ins{writers}.sqlite", args.n, writers)
            line(f"durable inserts/s, {writers} writer(s)", ours, theirs)
            inserts[writers] = ours, theirs
        best = max(theirs for _, theirs in inserts.values())
        for writers in (8, 64):
            line(f"  {writers} writers vs SQLite's best run above", inserts[writers][0], best)
        build(work / "big", work / "big.sqlite", args.docs, compact=True)
        found = finds(work / "big", work / "big.sqlite", 300)
        line(f"finds/s by indexed field, {args.docs} docs",
             found["hearth indexed"], found["sqlite indexed"])
        line(f"finds/s by unindexed field, {args.docs} docs",
             found["hearth scan"], found["sqlite scan"])
        seconds, rss = startup(work / "big")
        print(f"{f'start-up, {args.docs} docs from snapshot (s)':<44}{seconds:>12.2f}"
              f"{'':>12}   peak RSS {rss:.0f} MiB")
        build(work / "journal", work / "unused.sqlite", args.docs, compact=False)
        seconds, rss = startup(work / "journal")
        print(f"{f'start-up, {args.docs} docs from journal (s)':<44}{seconds:>12.2f}"
              f"{'':>12}   peak RSS {rss:.0f} MiB")


def line(label: str, ours: float, theirs: float) -> None:
    print(f"{label:<44}{ours:>12,.0f}{theirs:>12,.0f}{ours / theirs:>8.2f}×")


if __name__ == "__main__":
    main()
