"""Pack files: many encrypted blobs, then their sealed directory and a fixed-size footer."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from appliance.backup.engine.backuperrors import Unreadable
from appliance.backup.engine.cipher import Cipher
from appliance.durable import fsync_dir, place

MAGIC = b"HEARTHPK"
FOOTER_MAGIC = b"HPKEND01"
VERSION = 1
DATA = 0
TREE = 1
KINDS = {DATA: "data", TREE: "tree"}
HEADER = struct.Struct("<8sBB6x")  # magic, version, kind: 16 bytes
FOOTER = struct.Struct("<I8s")  # length of the sealed directory, magic: 12 bytes
ENTRY = struct.Struct("<32sIII")  # chunk id, offset, length (sealed), raw length: 44 bytes
ID_BYTES = 16
_BUFFER = 1 << 18


@dataclass(frozen=True)
class BlobEntry:
    """Where a blob sits in its pack, and the size of the data it holds."""

    id: bytes
    offset: int
    length: int
    raw_length: int


def directory_context(pack_id: bytes) -> bytes:
    """Return the associated data that binds a pack's directory to its pack id."""
    return b"hearth-backup/pack\0" + pack_id


def pack_path(packs: Path, pack_id: bytes) -> Path:
    """Return where a pack lives: packs/<first two hex digits>/<32 hex digits>."""
    name = pack_id.hex()
    return packs / name[:2] / name


class PackWriter:
    """A pack being filled in tmp/; `seal` ends it, `install` makes it durable and visible."""

    def __init__(self, tmp_dir: Path, kind: int, cipher: Cipher) -> None:
        self.id = os.urandom(ID_BYTES)
        self.kind = kind
        self.entries: list[BlobEntry] = []
        self.temp = tmp_dir / f"{self.id.hex()}.pack"
        self._cipher = cipher
        self._file = open(self.temp, "xb", buffering=_BUFFER)  # noqa: SIM115 - kept open
        self.size = self._file.write(HEADER.pack(MAGIC, VERSION, kind))

    def add(self, chunk_id: bytes, blob: bytes, raw_length: int) -> BlobEntry:
        """Append a sealed blob; return its entry."""
        entry = BlobEntry(chunk_id, self.size, len(blob), raw_length)
        self._file.write(blob)
        self.size += len(blob)
        self.entries.append(entry)
        return entry

    def seal(self) -> None:
        """Write the sealed directory and the footer; nothing can be added after."""
        directory = b"".join(ENTRY.pack(e.id, e.offset, e.length, e.raw_length)
                             for e in self.entries)
        sealed = self._cipher.seal(directory, directory_context(self.id))
        self._file.write(sealed)
        self._file.write(FOOTER.pack(len(sealed), FOOTER_MAGIC))
        self._file.flush()
        self.size += len(sealed) + FOOTER.size

    def install(self, packs: Path) -> None:
        """fsync the pack, rename it into packs/, fsync its folder (blocking: a thread's job)."""
        os.fsync(self._file.fileno())
        self._file.close()
        dest = pack_path(packs, self.id)
        if not dest.parent.exists():
            dest.parent.mkdir(exist_ok=True)
            fsync_dir(packs)
        place(self.temp, dest)

    def abort(self) -> None:
        """Drop the unfinished pack."""
        try:
            self._file.close()
        except OSError:
            pass
        self.temp.unlink(missing_ok=True)


def read_blob(fd: int, offset: int, length: int) -> bytes:
    """Return the sealed bytes of one blob, or raise Unreadable if the pack is cut short."""
    blob = os.pread(fd, length, offset)
    if len(blob) != length:
        raise Unreadable("the pack ends before this blob")
    return blob


def read_directory(path: Path, cipher: Cipher) -> tuple[int, list[BlobEntry]]:
    """Return a pack's kind and directory, read from its header and footer."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < HEADER.size + FOOTER.size:
            raise Unreadable("too short to be a pack")
        magic, version, kind = HEADER.unpack(fh.read(HEADER.size))
        if magic != MAGIC or version != VERSION or kind not in KINDS:
            raise Unreadable("its header is not a pack's")
        fh.seek(size - FOOTER.size)
        length, end_magic = FOOTER.unpack(fh.read(FOOTER.size))
        start = size - FOOTER.size - length
        if end_magic != FOOTER_MAGIC or start < HEADER.size:
            raise Unreadable("its footer is damaged")
        fh.seek(start)
        directory = cipher.open(fh.read(length), directory_context(bytes.fromhex(path.name)))
    if len(directory) % ENTRY.size:
        raise Unreadable("its directory has a wrong size")
    return kind, [BlobEntry(*fields) for fields in ENTRY.iter_unpack(directory)]
