"""The store: a folder of collections, its lock, and its committer thread."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from appliance.store.collection import Collection
from appliance.store.committer import Committer
from appliance.store.documents import check_doctype
from appliance.store.errors import InvalidDoctype, StoreError
from appliance.durable import FileOps
from appliance.store.folder import SNAPSHOT, CollectionFolder
from appliance.store.lockfile import StoreLock
from appliance.store.memtable import MemTable
from appliance.store.migration import Migration, check_declaration

logger = logging.getLogger(__name__)

COMPACT_AT = 4 * 1024 * 1024


class Store:
    """A folder of collections, one per doctype; open it once per process with Store.open."""

    def __init__(self, root: Path, lock: StoreLock, ops: FileOps, compact_at: int) -> None:
        self.root = root
        self._lock = lock
        self._ops = ops
        self._compact_at = compact_at
        self._committer = Committer(root)
        self._collections: dict[str, Collection] = {}
        self._on_disk = _doctypes_in(root)  # only this store adds any while it is open
        self._folders: dict[str, CollectionFolder] = {}
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path, *, ops: FileOps | None = None, compact_at: int = COMPACT_AT
    ) -> Store:
        """Open (creating if needed) the store in path; raise StoreLocked if it is in use."""
        return await asyncio.to_thread(cls.open_sync, path, ops=ops, compact_at=compact_at)

    @classmethod
    def open_sync(
        cls, path: Path, *, ops: FileOps | None = None, compact_at: int = COMPACT_AT
    ) -> Store:
        """Open the store from code that has no event loop (scripts, the CLI)."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, StoreLock.acquire(root), ops or FileOps(), compact_at)

    async def collection(
        self, doctype: str, *, indexes: Iterable[str] = (), version: int = 0,
        migrations: Sequence[Migration] = (),
    ) -> Collection:
        """Return the collection of doctype, loading (and migrating) it on first use."""
        return await self._committer.call(self._opener(doctype, indexes, version, migrations))

    def collection_sync(
        self, doctype: str, *, indexes: Iterable[str] = (), version: int = 0,
        migrations: Sequence[Migration] = (),
    ) -> Collection:
        """Return the collection of doctype, from code that has no event loop."""
        return self._committer.call_sync(self._opener(doctype, indexes, version, migrations))

    def doctypes(self) -> list[str]:
        """Return the doctypes that have a collection on disk or open."""
        return sorted(self._on_disk.union(self._collections))

    async def close(self) -> None:
        """Wait for pending commits, stop the committer and release the folder."""
        await asyncio.to_thread(self.close_sync)

    def close_sync(self) -> None:
        """Close the store from code that has no event loop."""
        if self._closed:
            return
        self._closed = True
        try:
            self._committer.call_sync(self._close_folders)
        finally:
            self._committer.stop()
            self._lock.release()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close_sync()

    def _opener(
        self, doctype: str, indexes: Iterable[str], version: int,
        migrations: Sequence[Migration],
    ) -> functools.partial[Collection]:
        check_doctype(doctype)
        check_declaration(doctype, version, migrations)
        return functools.partial(self._load, doctype, tuple(indexes), version, tuple(migrations))

    def _load(
        self, doctype: str, indexes: tuple[str, ...], version: int,
        migrations: tuple[Migration, ...],
    ) -> Collection:
        # Runs on the committer thread, so loads never race each other or a write.
        found = self._collections.get(doctype)
        if found is None:
            folder = CollectionFolder(self.root / doctype, self._ops, self._compact_at)
            try:
                docs = folder.open(version, migrations)
            except BaseException as exc:
                folder.close()
                if not isinstance(exc, OSError):
                    raise
                raise StoreError(
                    f"can't open the collection {doctype} in {self.root}: {exc}; check "
                    "the data disk (is it full, unplugged or read-only?)"
                ) from exc
            mem = MemTable(docs, folder, self._committer)
            folder.documents = mem.documents
            found = self._collections[doctype] = Collection(doctype, mem)
            self._folders[doctype] = folder
            logger.info("opened %s: %d documents", doctype, len(docs))
        elif version not in (0, self._folders[doctype].version):
            raise ValueError(
                f"{doctype} is already open at version {self._folders[doctype].version}, "
                f"not {version}; declare its version in one place"
            )
        for field in indexes:
            found.ensure_index(field)
        return found

    def _close_folders(self) -> None:
        for folder in self._folders.values():
            folder.close()


def _doctypes_in(root: Path) -> set[str]:
    """Return the names of the collection folders in a store folder."""
    found = set()
    for entry in root.iterdir():
        try:
            if (entry / SNAPSHOT).is_file():
                found.add(check_doctype(entry.name))
        except InvalidDoctype:
            continue
    return found
