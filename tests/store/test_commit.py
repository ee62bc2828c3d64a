"""Group commit: writers share fsyncs, return only once on disk, and hear about disk failures."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

import pytest

from appliance.store import Store, StoreError
from appliance.store.folder import JOURNAL
from appliance.store.journal import scan
from tests.store.conftest import DOCTYPE, SpyOps


async def test_a_write_returns_only_after_its_fsync(root: Path) -> None:
    ops = SpyOps()
    gate = threading.Event()
    real_fsync = ops.fsync

    def held_fsync(fd: int) -> None:
        gate.wait(10)
        real_fsync(fd)
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE)
        ops.fsync = held_fsync
        write = asyncio.create_task(coll.create({"n": 1}))
        await asyncio.sleep(0.2)
        assert not write.done()  # written, maybe, but not yet durable: no answer
        gate.set()
        doc = await write
        assert doc["n"] == 1


async def test_sequential_writes_fsync_once_each(root: Path) -> None:
    ops = SpyOps()
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE)
        before = ops.fsyncs
        for i in range(10):
            await coll.create({"n": i})
        assert ops.fsyncs - before == 10


async def test_concurrent_writers_share_fsyncs_and_each_is_covered(root: Path) -> None:
    ops = SpyOps()
    ops.fsync_delay = 0.005  # a USB disk is slower than this machine's
    journal = root / DOCTYPE / JOURNAL
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE)
        before = ops.fsyncs

        async def write(i: int) -> None:
            doc = await coll.create({"n": i})
            line_end = journal.read_bytes().index(doc["_id"].encode()) + len(doc["_id"])
            assert line_end <= ops.durable_size(journal), "answered before its fsync"

        def thread_writer(k: int) -> None:
            for i in range(20):
                coll.table.insert({"thread": k, "n": i})
        threads = [threading.Thread(target=thread_writer, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.gather(*(write(i) for i in range(300)))
        await asyncio.to_thread(lambda: [thread.join() for thread in threads])
        writes = 300 + 4 * 20
        fsyncs = ops.fsyncs - before
        assert len(coll) == writes
        assert fsyncs <= writes / 5, f"{fsyncs} fsyncs for {writes} writes"


async def test_full_disk_fails_the_writers_and_refuses_later_writes(root: Path) -> None:
    ops = SpyOps()
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE, indexes=("n",))
        acked = [await coll.create({"n": i}) for i in range(5)]
        ops.fail_write = OSError(errno.ENOSPC, "No space left on device")
        results = await asyncio.gather(*(coll.create({"n": 100 + i}) for i in range(20)),
                                       return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results), results
        assert "can't be written: No space left on device" in str(results[0])
        assert str(root) in str(results[0])
        # Readers don't see what never reached the disk either.
        assert sorted(coll.all(), key=lambda d: d["n"]) == acked
        assert coll.find({"n": {"$gte": 100}}) == [] and coll.find({"n": 105}) == []
        assert coll.find({"n": 3}) == [acked[3]]
        ops.fail_write = None  # even once space is back, this store stays read-only
        with pytest.raises(StoreError, match="can't be written"):
            await coll.put({**acked[0], "n": -1})
        with pytest.raises(StoreError, match="can't be written"):
            await asyncio.to_thread(coll.table.insert, {"n": -2})
    async with await Store.open(root) as store:
        assert sorted((await store.collection(DOCTYPE)).all(), key=lambda d: d["n"]) == acked


async def test_failed_fsync_is_not_acknowledged(root: Path) -> None:
    ops = SpyOps()
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE)
        acked = await coll.create({"n": 0})
        ops.fail_fsync = OSError(errno.EIO, "Input/output error")
        with pytest.raises(StoreError, match="Input/output error.*check the data disk"):
            await coll.put({**acked, "n": 1})
        assert coll.all() == [acked]
        ops.fail_fsync = None
    async with await Store.open(root) as store:
        # The failed put reached the page cache, maybe the disk: either version may
        # be there, but never a damaged one.
        found = (await store.collection(DOCTYPE)).get(acked["_id"])
        assert found is not None and found["n"] in (0, 1)


async def test_write_cut_midway_by_a_pulled_disk_is_cut_at_next_start(root: Path) -> None:
    ops = SpyOps()
    calls = 0

    def half_then_fail(fd: int, data: bytes, offset: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return os.pwrite(fd, data[: len(data) // 2], offset)
        raise OSError(errno.ENODEV, "No such device")
    async with await Store.open(root, ops=ops) as store:
        coll = await store.collection(DOCTYPE)
        acked = await coll.create({"n": 0})
        ops.write = half_then_fail
        with pytest.raises(StoreError, match="No such device"):
            await coll.create({"n": 1, "pad": "z" * 500})
    journal = root / DOCTYPE / JOURNAL
    assert not journal.read_bytes().rstrip(b"\0").endswith(b"\n")  # torn on disk
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        assert coll.all() == [acked]
        await coll.create({"n": 2})
    data = journal.read_bytes()
    assert not data[scan(data).valid_end:].strip(b"\0") and len(scan(data).entries) == 2
