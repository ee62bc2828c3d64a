"""A separate Hearth process for the store tests: run as `python -m tests.store.worker MODE DIR`.

Modes:
  write DIR WRITERS  write as fast as possible, printing each write once acknowledged
  spawn DIR WRITERS  for each line on stdin, fork a `write` process (already imported,
                     so it starts in milliseconds); print its pid, then "exited" once
                     something killed it
  migrate DIR        migrate DIR's collection to version 1, slowly, printing progress
  open DIR           try to open DIR, printing "opened" or the StoreLocked message
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from appliance.store import Collection, Store, StoreLocked

DOCTYPE = "io.hearth.tests"
COMPACT_AT = 32 * 1024  # small, so that kills also land inside compactions


def ack(*fields: Any) -> None:
    """Report an acknowledged write on one line."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def writer(coll: Collection, number: int) -> None:
    """Create documents, update a counter document, delete some of what was created."""
    counter = await coll.put({"_id": f"counter-{number}-{random.getrandbits(32):08x}",
                              "count": 0})
    ack("put", counter["_id"], counter["_rev"], counter)
    previous: dict[str, Any] | None = None
    for seq in range(1, 10**9):
        doc = await coll.create({"writer": number, "seq": seq, "pad": "x" * random.randrange(200)})
        ack("put", doc["_id"], doc["_rev"], doc)
        if seq % 3 == 0:
            counter = await coll.put({**counter, "count": seq})
            ack("put", counter["_id"], counter["_rev"], counter)
        if seq % 5 == 0 and previous is not None:
            ack("deleting", previous["_id"])  # from here on it may be gone
            await coll.delete(previous["_id"], previous["_rev"])
            ack("del", previous["_id"])
        previous = doc


async def write(root: Path, writers: int) -> None:
    store = await Store.open(root, compact_at=COMPACT_AT)
    coll = await store.collection(DOCTYPE)
    ack("open")
    await asyncio.gather(*(writer(coll, n) for n in range(writers)))


def spawn(root: Path, writers: int) -> None:
    """Fork one writer per line read on stdin, and report when each is dead."""
    for _ in sys.stdin:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                asyncio.run(write(root, writers))
            finally:
                os._exit(1)
        ack("pid", pid)
        os.waitpid(pid, 0)
        # A newline ends any line the writer was cut in the middle of.
        sys.stdout.write("\n")
        ack("exited", pid)


def slow_upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """Upgrade one document to version 1, slowly enough to be killed midway."""
    ack("migrating", doc["_id"])
    time.sleep(0.002)
    return {**doc, "upgraded": True}


async def migrate(root: Path) -> None:
    async with await Store.open(root) as store:
        await store.collection(DOCTYPE, version=1, migrations=[slow_upgrade])
        ack("migrated")


async def try_open(root: Path) -> None:
    try:
        async with await Store.open(root):
            ack("opened")
    except StoreLocked as exc:
        ack("locked", str(exc))


def main() -> None:
    mode, root = sys.argv[1], Path(sys.argv[2])
    if mode == "write":
        asyncio.run(write(root, int(sys.argv[3])))
    elif mode == "spawn":
        spawn(root, int(sys.argv[3]))
    elif mode == "migrate":
        asyncio.run(migrate(root))
    else:
        asyncio.run(try_open(root))


if __name__ == "__main__":
    main()
