"""The chunk index: packed sorted records in memory, and the index files that persist it."""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from appliance.backup.engine.backuperrors import Unreadable
from appliance.backup.engine.pack import ENTRY, KINDS, BlobEntry

KEY = 16  # the first 16 bytes of a chunk id: a collision needs ~2^64 chunks
RECORD = struct.Struct(f"<{KEY}sIII")  # key, pack number, offset, length: 28 bytes
RECENT_LIMIT = 16384  # new ids wait in a dict until this many, then merge in one pass
FILE_MAGIC = b"HIDX\x01\x00\x00\x00"
PACK = struct.Struct("<16sBI")  # pack id, kind, number of entries


class Location(NamedTuple):
    """Where a blob is: its pack's id, offset and sealed length."""

    pack: bytes
    offset: int
    length: int


@dataclass
class PackRecord:
    """One pack as an index file lists it."""

    id: bytes
    kind: int
    entries: list[BlobEntry]


def encode_index(packs: Iterable[PackRecord]) -> bytes:
    """Return the plaintext of an index file listing packs and their blobs."""
    parts = [FILE_MAGIC]
    for pack in packs:
        parts.append(PACK.pack(pack.id, pack.kind, len(pack.entries)))
        parts.extend(ENTRY.pack(e.id, e.offset, e.length, e.raw_length)
                     for e in sorted(pack.entries, key=lambda e: e.id))
    return b"".join(parts)


def _packs_in(data: bytes) -> Iterator[tuple[bytes, int, memoryview]]:
    """Yield (pack id, kind, entries' bytes) for each pack an index file's plaintext lists."""
    if not data.startswith(FILE_MAGIC):
        raise Unreadable("not an index file")
    view, at = memoryview(data), len(FILE_MAGIC)
    while at < len(view):
        if at + PACK.size > len(view):
            raise Unreadable("an index file ends inside a pack's record")
        pack_id, kind, count = PACK.unpack_from(view, at)
        at += PACK.size
        end = at + count * ENTRY.size
        if kind not in KINDS or end > len(view):
            raise Unreadable("an index file has a malformed pack record")
        yield pack_id, kind, view[at:end]
        at = end


def validate_index(data: bytes) -> None:
    """Raise Unreadable if an index file's plaintext is malformed."""
    for _ in _packs_in(data):
        pass


def decode_index(data: bytes) -> Iterator[PackRecord]:
    """Yield the packs an index file's plaintext lists; Unreadable if it is malformed."""
    for pack_id, kind, entries in _packs_in(data):
        yield PackRecord(pack_id, kind, [BlobEntry(*f) for f in ENTRY.iter_unpack(entries)])


class ChunkIndex:
    """Every stored blob's location: 28 bytes a blob, sorted, searched by bisection."""

    def __init__(self) -> None:
        self.packs: list[bytes] = []
        self.kinds = bytearray()
        self._numbers: dict[bytes, int] = {}
        self._main: bytes = b""
        self._recent: dict[bytes, bytes] = {}

    @classmethod
    def build(cls, index_files: Iterable[bytes]) -> ChunkIndex:
        """Return the index of what index files list (plaintexts; a blob twice keeps both)."""
        index = cls()
        # Records are spread over 256 buckets by their first byte and each bucket is sorted
        # on its own, so that sorting never needs more than a bucket's worth of objects.
        buckets = [bytearray() for _ in range(256)]
        pack_record = RECORD.pack
        for data in index_files:
            for pack_id, kind, entries in _packs_in(data):
                number = index.add_pack(pack_id, kind)
                for chunk_id, offset, length, _ in ENTRY.iter_unpack(entries):
                    buckets[chunk_id[0]] += pack_record(chunk_id[:KEY], number, offset, length)
        size, parts = RECORD.size, []
        for n, bucket in enumerate(buckets):
            rows = [bytes(bucket[at:at + size]) for at in range(0, len(bucket), size)]
            buckets[n] = bytearray()
            rows.sort()
            parts.append(b"".join(rows))
        index._main = b"".join(parts)
        return index

    def add_pack(self, pack_id: bytes, kind: int) -> int:
        """Return the number of a pack, adding it if it is new."""
        number = self._numbers.get(pack_id)
        if number is None:
            number = self._numbers[pack_id] = len(self.packs)
            self.packs.append(pack_id)
            self.kinds.append(kind)
        return number

    def add(self, chunk_id: bytes, pack_number: int, offset: int, length: int) -> None:
        """Record where a new blob is."""
        self._recent[chunk_id[:KEY]] = RECORD.pack(b"", pack_number, offset, length)[KEY:]
        if len(self._recent) >= RECENT_LIMIT:
            self.compact()

    def _bisect(self, key: bytes) -> int:
        main, size = self._main, RECORD.size
        lo, hi = 0, len(main) // size
        while lo < hi:
            mid = (lo + hi) // 2
            if main[mid * size:mid * size + KEY] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def position(self, chunk_id: bytes) -> int | None:
        """Return the record number of a blob (after `compact`), or None."""
        key = chunk_id[:KEY]
        at = self._bisect(key)
        start = at * RECORD.size
        return at if self._main[start:start + KEY] == key else None

    def record(self, number: int) -> tuple[bytes, int, int, int]:
        """Return record `number`: key, pack number, offset, length."""
        key, pack, offset, length = RECORD.unpack_from(self._main, number * RECORD.size)
        return key, pack, offset, length

    def get(self, chunk_id: bytes) -> Location | None:
        """Return where a blob is, or None if it isn't stored."""
        recent = self._recent.get(chunk_id[:KEY])
        if recent is not None:
            pack, offset, length = struct.unpack("<III", recent)
        else:
            at = self.position(chunk_id)
            if at is None:
                return None
            _, pack, offset, length = self.record(at)
        return Location(self.packs[pack], offset, length)

    def __contains__(self, chunk_id: bytes) -> bool:
        return chunk_id[:KEY] in self._recent or self.position(chunk_id) is not None

    def __len__(self) -> int:
        return len(self._main) // RECORD.size + len(self._recent)

    def compact(self) -> None:
        """Merge the recent records into the sorted ones."""
        if not self._recent:
            return
        main, size = memoryview(self._main), RECORD.size
        pieces: list[bytes | memoryview] = []
        start = 0
        for key in sorted(self._recent):
            at = self._bisect(key) * size
            pieces += (main[start:at], key + self._recent[key])
            start = at
        pieces.append(main[start:])
        self._main = b"".join(pieces)
        self._recent.clear()

    def nbytes(self) -> int:
        """Return about how much memory the records take."""
        return len(self._main) + len(self._recent) * 200
