"""The in-memory chunk index: lookups, merging, index files, and its size per chunk."""
from __future__ import annotations

import gc
import hashlib
import os
import tracemalloc

from appliance.backup.engine.index import ChunkIndex, PackRecord, decode_index, encode_index
from appliance.backup.engine.pack import DATA, TREE, BlobEntry


def blob_id(n: int) -> bytes:
    return hashlib.sha256(n.to_bytes(8, "big")).digest()


def records(packs: int, per_pack: int) -> list[PackRecord]:
    return [PackRecord(os.urandom(16), DATA if p % 2 else TREE,
                       [BlobEntry(blob_id(p * per_pack + n), 16 + n * 100, 100, 90)
                        for n in range(per_pack)]) for p in range(packs)]


def test_lookups_find_every_blob_where_it_was_put() -> None:
    listed = records(20, 500)
    index = ChunkIndex.build([encode_index(listed)])
    assert len(index) == 10_000
    for pack in listed[::3]:
        for entry in pack.entries[::50]:
            where = index.get(entry.id)
            assert where is not None
            assert (where.pack, where.offset, where.length) == (pack.id, entry.offset, 100)
    assert index.get(blob_id(10**9)) is None and blob_id(10**9) not in index


def test_new_blobs_are_found_before_and_after_they_are_merged() -> None:
    index = ChunkIndex.build([encode_index(records(2, 1000))])
    number = index.add_pack(b"p" * 16, DATA)
    fresh = [blob_id(10**6 + n) for n in range(20_000)]  # more than one merge's worth
    for n, chunk in enumerate(fresh):
        index.add(chunk, number, n, 7)
        assert chunk in index
    index.compact()
    assert len(index) == 22_000
    assert all(index.get(c) == (b"p" * 16, n, 7) for n, c in enumerate(fresh))
    assert blob_id(5) in index  # the old ones are still there


def test_index_files_round_trip() -> None:
    listed = records(3, 10)
    decoded = list(decode_index(encode_index(listed)))
    assert [(p.id, p.kind, sorted(p.entries, key=lambda e: e.id)) for p in decoded] == \
        [(p.id, p.kind, sorted(p.entries, key=lambda e: e.id)) for p in listed]


def test_the_index_takes_at_most_40_bytes_a_chunk() -> None:
    """A 1 GB Pi must hold the index of a big repository: ~1M chunks for 1 TB."""
    data = encode_index(records(200, 1000))  # 200k chunks, as a 200 GB home would have
    gc.collect()
    tracemalloc.start()
    index = ChunkIndex.build([data])
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(index) == 200_000
    assert held / len(index) <= 40, f"{held / len(index):.1f} bytes a chunk"
