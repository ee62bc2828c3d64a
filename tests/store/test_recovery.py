"""Start-up after a crash: torn tails are cut, damaged lines skipped, snapshots compacted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from appliance.store import Store, StoreError
from appliance.store.folder import JOURNAL, SNAPSHOT
from appliance.store.journal import scan
from tests.store.conftest import DOCTYPE, SpyOps


def journal_of(root: Path) -> Path:
    return root / DOCTYPE / JOURNAL


def lines_of(root: Path) -> bytes:
    """Return the journal's lines, without the zeros it is grown with."""
    return journal_of(root).read_bytes().rstrip(b"\0")


async def write_docs(root: Path, count: int, **options: object) -> list[dict[str, object]]:
    async with await Store.open(root, **options) as store:
        coll = await store.collection(DOCTYPE)
        return [await coll.create({"n": i, "text": "é" * i}) for i in range(count)]


async def stored(root: Path) -> dict[str, dict[str, object]]:
    async with await Store.open(root) as store:
        return {d["_id"]: d for d in (await store.collection(DOCTYPE)).all()}


@pytest.mark.parametrize("tail", [
    b'1a2b3c4d {"op":"put","doc":{"_id":"half',           # cut mid-line
    b"\x00" * 4096,                                         # blocks never written
    b'00000000 {"op":"put","doc":{"_id":"x","_rev":"1-' + b"0" * 32 + b'"}}\n',  # bad crc
    b"garbage\n\x00\x00",
])
async def test_torn_tail_is_cut_and_new_writes_append_cleanly(root: Path, tail: bytes) -> None:
    acked = await write_docs(root, 20)
    clean = lines_of(root)
    journal_of(root).write_bytes(clean + tail)  # the crash hit the next append
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        assert journal_of(root).read_bytes() == clean  # cut before any append
        assert sorted(coll.all(), key=lambda d: d["n"]) == acked
        later = await coll.create({"n": 99})
    data = journal_of(root).read_bytes()
    assert scan(data).valid_end == len(lines_of(root)) > len(clean)
    assert (await stored(root))[later["_id"]] == later


async def test_clean_restart_cuts_nothing_and_says_nothing(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acked = await write_docs(root, 3)
    assert journal_of(root).stat().st_size > len(lines_of(root))  # grown ahead, with zeros
    with caplog.at_level(logging.WARNING):
        assert await stored(root) == {d["_id"]: d for d in acked}
    assert caplog.text == ""


async def test_damaged_middle_line_keeps_later_writes(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acked = await write_docs(root, 5)
    lines = lines_of(root).splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"n":2', b'"n":7')  # a flipped bit on the disk
    journal_of(root).write_bytes(b"".join(lines))
    with caplog.at_level(logging.ERROR):
        docs = await stored(root)
    assert set(docs) == {d["_id"] for i, d in enumerate(acked) if i != 2}
    assert "damaged line(s) (line 3)" in caplog.text
    copies = list((root / DOCTYPE).glob("journal.damaged-*.log"))
    assert len(copies) == 1 and b'"n":7' in copies[0].read_bytes()
    # Compacted at once: the journal no longer holds the damaged line.
    assert journal_of(root).stat().st_size == 0
    caplog.clear()
    assert await stored(root) == docs
    assert "damaged" not in caplog.text


async def test_compaction_keeps_the_journal_small_and_everything_readable(root: Path) -> None:
    async with await Store.open(root, compact_at=16 * 1024) as store:
        coll = await store.collection(DOCTYPE)
        acked = [await coll.create({"n": i, "pad": "x" * 100}) for i in range(600)]
        for doc in acked[:200]:
            await coll.delete(doc["_id"], doc["_rev"])
        snapshot_size = (root / DOCTYPE / SNAPSHOT).stat().st_size
        assert snapshot_size > 40 * 1024
        # Folded as soon as it outgrows both the threshold and the snapshot.
        assert len(lines_of(root)) <= max(16 * 1024, snapshot_size)
    docs = await stored(root)
    assert docs == {d["_id"]: d for d in acked[200:]}


async def test_crash_between_snapshot_and_journal_truncation_replays_idempotently(
    root: Path,
) -> None:
    ops = SpyOps()
    saved: list[bytes] = []

    def replace_then_remember(src: Path, dst: Path) -> None:
        SpyOps._replace(ops, src, dst)
        if dst.name == SNAPSHOT and journal_of(root).exists() and not saved:
            saved.append(journal_of(root).read_bytes())
    ops.replace = replace_then_remember
    async with await Store.open(root, ops=ops, compact_at=8 * 1024) as store:
        coll = await store.collection(DOCTYPE)
        doc = await coll.create({"n": 0})
        while not saved:  # the same document rewritten: replaying old lines must not regress it
            doc = await coll.put({**doc, "n": doc["n"] + 1, "pad": "y" * 200})
    # As if the power went off right after the rename: new snapshot, old full journal.
    journal_of(root).write_bytes(saved[0])
    entries = scan(saved[0]).entries
    assert len(entries) > 20
    at_crash = entries[-1].doc
    assert at_crash is not None
    assert await stored(root) == {at_crash["_id"]: at_crash}


async def test_missing_snapshot_with_a_journal_refuses_to_guess(root: Path) -> None:
    await write_docs(root, 3)
    (root / DOCTYPE / SNAPSHOT).unlink()
    async with await Store.open(root) as store:
        with pytest.raises(StoreError, match="is missing.*restore"):
            await store.collection(DOCTYPE)


async def test_damaged_snapshot_refuses_to_open_and_changes_nothing(root: Path) -> None:
    async with await Store.open(root, compact_at=1) as store:
        coll = await store.collection(DOCTYPE)
        for i in range(10):
            await coll.create({"n": i})
    path = root / DOCTYPE / SNAPSHOT
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    async with await Store.open(root) as store:
        with pytest.raises(StoreError, match="damaged.*checksum.*backup"):
            await store.collection(DOCTYPE)
    assert path.read_bytes() == bytes(data)


async def test_snapshot_is_plain_json_after_its_header(root: Path) -> None:
    async with await Store.open(root, compact_at=1) as store:
        coll = await store.collection(DOCTYPE)
        doc = await coll.create({"label": "Loyer"})
        await coll.create({"label": "EDF"})
    raw = (root / DOCTYPE / SNAPSHOT).read_bytes()
    header = json.loads(raw[:256])
    assert header["count"] == 2 and header["version"] == 0
    assert doc in json.loads(raw[256:])


async def test_explicit_compaction_folds_the_journal_and_writes_go_on(root: Path) -> None:
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        docs = [await coll.create({"n": i}) for i in range(50)]
        gone = docs.pop()
        await coll.delete(gone["_id"], gone["_rev"])
        await coll.compact()
        assert journal_of(root).stat().st_size == 0
        assert json.loads((root / DOCTYPE / SNAPSHOT).read_bytes()[:256])["count"] == 49
        docs.append(await coll.create({"n": 50}))
    assert await stored(root) == {d["_id"]: d for d in docs}
