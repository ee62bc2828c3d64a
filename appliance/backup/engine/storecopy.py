"""A consistent copy of one store collection while a running Hearth may be writing it.

A collection is `snapshot.json` (only ever replaced whole, by rename) and
`journal.log` (appended; a torn tail is cut by the reader). Any snapshot with
the journal read after it is consistent, except in one race: compaction renames
a new snapshot and *then* empties the journal, so a journal read while it is
being emptied may hold only the first part of lines the snapshot already has,
which would bring older versions back. So: open the snapshot, read the journal
twice, and accept only if the snapshot wasn't replaced meanwhile and the second
read extends the first one's valid lines; otherwise try again.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.backup.engine.backuperrors import BackupError
from appliance.store import snapshot as snapshots
from appliance.store.errors import StoreError
from appliance.store.folder import JOURNAL, SNAPSHOT
from appliance.store.journal import scan

ATTEMPTS = 50


@dataclass
class CollectionCopy:
    """A collection's snapshot (an open file) and the valid part of its journal."""

    snapshot_fd: int
    snapshot_stat: os.stat_result
    journal: bytes
    journal_stat: os.stat_result | None

    def close(self) -> None:
        """Close the snapshot."""
        os.close(self.snapshot_fd)

    def documents(self) -> list[dict[str, Any]]:
        """Return the collection's documents: the snapshot with the journal replayed."""
        try:
            _, listed = snapshots.read(Path(f"/proc/self/fd/{self.snapshot_fd}"))
        except StoreError as exc:
            raise BackupError(str(exc)) from None
        docs = {doc["_id"]: doc for doc in listed}
        for entry in scan(self.journal).entries:
            entry.apply(docs)
        return list(docs.values())


def _read(path: Path) -> tuple[bytes, os.stat_result | None]:
    try:
        with open(path, "rb") as fh:
            return fh.read(), os.fstat(fh.fileno())
    except FileNotFoundError:
        return b"", None


def read_collection(folder: Path) -> CollectionCopy | None:
    """Return a consistent copy of a collection folder, or None if it has no snapshot."""
    path = folder / SNAPSHOT
    for attempt in range(ATTEMPTS):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            first, _ = _read(folder / JOURNAL)
            second, journal_stat = _read(folder / JOURNAL)
            if os.stat(path).st_ino == st.st_ino and \
                    second.startswith(first[:scan(first).valid_end]):
                return CollectionCopy(fd, st, second[:scan(second).valid_end], journal_stat)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        time.sleep(0.01 * attempt)
    raise BackupError(f"the store collection {folder.name} kept changing while it was read "
                      f"({ATTEMPTS} tries); run the backup again when Hearth is less busy")


def collection_documents(folder: Path) -> list[dict[str, Any]] | None:
    """Return a collection folder's documents, read consistently; None if it has none."""
    copy = read_collection(folder)
    if copy is None:
        return None
    try:
        return copy.documents()
    finally:
        copy.close()
