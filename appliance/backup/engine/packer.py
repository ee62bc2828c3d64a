"""Storing blobs: keyed id, dedup against the index, seal, pack; packs made durable aside."""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from appliance.backup.engine.backuperrors import BackupError, explain
from appliance.backup.engine.index import ChunkIndex, PackRecord
from appliance.backup.engine.pack import DATA, PackWriter
from appliance.backup.engine.repository import Repository

logger = logging.getLogger(__name__)

PACK_SIZE = 16 << 20
INDEX_EVERY = 64  # packs listed per index file while a backup runs (~1 GiB of data)
_INSTALLING = 2  # packs waiting for their fsync before the next one must wait


@dataclass
class Stats:
    """What a backup did, counted as it goes."""

    files: int = 0
    folders: int = 0
    bytes: int = 0
    unchanged_files: int = 0
    new_blobs: int = 0
    new_bytes: int = 0
    stored_bytes: int = 0
    skipped: int = 0


class Packer:
    """Turns data into stored blobs; `flush` makes everything saved so far durable."""

    def __init__(self, repo: Repository, index: ChunkIndex, stats: Stats, *,
                 pack_size: int = PACK_SIZE, index_every: int = INDEX_EVERY) -> None:
        self._repo = repo
        self._index = index
        self._stats = stats
        self._pack_size = pack_size
        self._index_every = index_every
        self._writers: dict[int, PackWriter] = {}
        self._installing: list[tuple[Future[None], PackWriter]] = []
        self._installed: list[PackRecord] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pack-install")

    def save(self, data: Any, kind: int = DATA, *, compress: bool = True) -> bytes:
        """Store data as a blob unless the repository has it; return its id."""
        blob_id = self._repo.chunk_id(data)
        if blob_id in self._index:
            return blob_id
        sealed = self._repo.cipher.seal(data, blob_id, compress=compress)
        writer = self._writers.get(kind) or self._open(kind)
        try:
            entry = writer.add(blob_id, sealed, len(data))
        except OSError as exc:
            raise explain(exc, self._repo.path, "writing a pack") from None
        self._index.add(blob_id, self._index.add_pack(writer.id, kind), entry.offset,
                        entry.length)
        self._stats.new_blobs += 1
        self._stats.new_bytes += len(data)
        self._stats.stored_bytes += len(sealed)
        if writer.size >= self._pack_size:
            self._close(kind)
        return blob_id

    def _open(self, kind: int) -> PackWriter:
        try:
            writer = PackWriter(self._repo.path / "tmp", kind, self._repo.cipher)
        except OSError as exc:
            raise explain(exc, self._repo.path, "starting a pack") from None
        self._index.add_pack(writer.id, kind)
        self._writers[kind] = writer
        return writer

    def _close(self, kind: int) -> None:
        writer = self._writers.pop(kind)
        try:
            writer.seal()
        except OSError as exc:
            writer.abort()
            raise explain(exc, self._repo.path, "writing a pack") from None
        self._installing.append(
            (self._pool.submit(writer.install, self._repo.path / "packs"), writer))
        self._reap(wait=len(self._installing) > _INSTALLING)

    def _reap(self, *, wait: bool = False) -> None:
        """Collect installed packs (waiting for the oldest if asked); write an index file."""
        while self._installing and (wait or self._installing[0][0].done()):
            future, writer = self._installing.pop(0)
            wait = False
            try:
                future.result()
            except OSError as exc:
                writer.abort()
                raise explain(exc, self._repo.path, "saving a pack") from None
            self._installed.append(PackRecord(writer.id, writer.kind, writer.entries))
        if len(self._installed) >= self._index_every:
            self._write_index()

    def _write_index(self) -> None:
        if self._installed:
            self._repo.write_index(self._installed)
            self._installed = []

    def flush(self) -> None:
        """Close the open packs, wait until every pack is durable, and index them."""
        for kind in list(self._writers):
            if self._writers[kind].entries:
                self._close(kind)
            else:
                self._writers.pop(kind).abort()
        while self._installing:
            self._reap(wait=True)
        self._write_index()

    def abort(self) -> None:
        """Drop the open packs; index the ones already durable, so the next run reuses them."""
        for writer in self._writers.values():
            writer.abort()
        self._writers.clear()
        for future, writer in self._installing:
            try:
                future.result()
                self._installed.append(PackRecord(writer.id, writer.kind, writer.entries))
            except OSError:
                writer.abort()
        self._installing.clear()
        try:
            self._write_index()
        except (BackupError, OSError):  # the disk is full or gone: the next run re-stores
            logger.warning("the packs of the interrupted backup could not be indexed")
        self.close()

    def close(self) -> None:
        """Stop the install thread."""
        self._pool.shutdown(wait=True)
