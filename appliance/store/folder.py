"""One collection's folder: snapshot.json and journal.log, used only by the committer thread."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.store import snapshot
from appliance.store.documents import Doc, paused_gc
from appliance.store.errors import StoreError
from appliance.durable import FileOps
from appliance.store.journal import scan
from appliance.store.migration import Migration, migrate

logger = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
JOURNAL = "journal.log"
# The journal is grown by this much at a time, zero-filled, so that an append
# overwrites allocated blocks and its fdatasync has no metadata to commit.
GROW_BY = 512 * 1024


class CollectionFolder:
    """The files of one doctype: loads them, appends to the journal, compacts it."""

    def __init__(self, path: Path, ops: FileOps, compact_at: int) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.documents: Callable[[], list[Doc]] = list
        self.version = 0
        self._ops = ops
        self._compact_at = compact_at
        self._fd = -1
        self._journal_size = 0  # where the next line goes; zeros follow, up to _allocated
        self._allocated = 0
        self._snapshot_size = 0
        self._retry_at = 0

    @property
    def _snapshot(self) -> Path:
        return self.path / SNAPSHOT

    def open(self, version: int, migrations: Sequence[Migration]) -> dict[str, Doc]:
        """Create or load the collection at the declared version; return its documents."""
        with paused_gc():
            return self._open(version, migrations)

    def _open(self, version: int, migrations: Sequence[Migration]) -> dict[str, Doc]:
        (self.path / (SNAPSHOT + ".tmp")).unlink(missing_ok=True)
        if not self._snapshot.exists():
            self._create(version)
        stored = snapshot.read_version(self._snapshot)
        if stored > version:
            raise StoreError(
                f"the collection {self.path.name} was written by a newer Hearth (schema "
                f"version {stored}; this one knows up to {version}). Update Hearth, or "
                "restore a backup made by this version"
            )
        self.version, listed = snapshot.read(self._snapshot)
        self._snapshot_size = self._snapshot.stat().st_size
        docs = {doc["_id"]: doc for doc in listed}
        del listed
        self._fd = os.open(self.path / JOURNAL, os.O_RDWR | os.O_CREAT, 0o600)
        self._replay(docs)
        if stored < version:
            if self._journal_size:
                self.compact(list(docs.values()), strict=True)
            migrated = migrate(docs, stored, version, migrations, self.path.name)
            self._snapshot_size = snapshot.write(self._snapshot, migrated, version, self._ops)
            self.version = version
            docs = {doc["_id"]: doc for doc in migrated}
            logger.info("migrated %s from version %d to %d", self.path.name, stored, version)
        return docs

    def _create(self, version: int) -> None:
        journal = self.path / JOURNAL
        if journal.exists() and journal.stat().st_size:
            raise StoreError(
                f"{self._snapshot} is missing while {journal} has data; restore the "
                "collection from a backup, or move the folder away to start it empty"
            )
        self.path.mkdir(exist_ok=True)
        snapshot.write(self._snapshot, [], version, self._ops)
        self._ops.fsync_dir(self.path.parent)

    def _replay(self, docs: dict[str, Doc]) -> None:
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        found = scan(data)
        for entry in found.entries:
            entry.apply(docs)
        self._journal_size = self._allocated = found.valid_end
        torn = data[found.valid_end:].strip(b"\0")
        if torn:
            logger.warning(
                "%s/%s ended with %d bytes of an unfinished write (from a crash or power "
                "loss); they were never acknowledged and are cut off",
                self.path.name, JOURNAL, len(torn),
            )
        # Cut before anything is appended: the zeros of a new extent come later.
        os.ftruncate(self._fd, found.valid_end)
        self._ops.fsync(self._fd)
        # A new journal's folder entry must be durable before anything is acknowledged.
        self._ops.fsync_dir(self.path)
        if found.skipped:
            kept = self.path / f"journal.damaged-{int(time.time())}.log"
            kept.write_bytes(data)
            logger.error(
                "%s/%s had %d damaged line(s) (line %s) among valid ones; they were "
                "skipped, the rest was kept, and a copy of the damaged journal is in %s. "
                "Check the data disk's health (a failing disk or cable does this)",
                self.path.name, JOURNAL, len(found.skipped),
                ", ".join(map(str, found.skipped[:10])), kept,
            )
            self.compact(list(docs.values()), strict=True)

    def append(self, data: bytes) -> None:
        """Write data at the end of the journal and fsync it."""
        end = self._journal_size + len(data)
        if end > self._allocated:
            grown = (end // GROW_BY + 1) * GROW_BY
            self._ops.write_all(self._fd, bytes(grown - self._allocated), self._allocated)
            self._allocated = grown
        self._ops.write_all(self._fd, data, self._journal_size)
        self._ops.fsync(self._fd)
        self._journal_size = end

    def compaction_due(self) -> bool:
        """Tell whether the journal has outgrown both its threshold and the snapshot."""
        size = self._journal_size
        return size > self._compact_at and size > self._snapshot_size and size >= self._retry_at

    def compact(self, docs: list[Doc], *, strict: bool = False) -> None:
        """Write docs as the new snapshot, then empty the journal."""
        try:
            self._snapshot_size = snapshot.write(self._snapshot, docs, self.version, self._ops)
            os.ftruncate(self._fd, 0)
            self._journal_size = self._allocated = 0
            self._ops.fsync(self._fd)
        except OSError as exc:
            if strict:
                raise
            self._retry_at = self._journal_size * 2
            logger.error(
                "couldn't fold the journal of %s into its snapshot (%s); nothing is "
                "lost, it will be retried when the journal doubles. Free some space "
                "on the data disk", self.path.name, exc,
            )
            return
        self._retry_at = 0

    def close(self) -> None:
        """Close the journal."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
