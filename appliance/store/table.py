"""TinyDB's Table API over a collection: sync, thread-safe, journaled writes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from tinydb.storages import Storage
from tinydb.table import Document, Table

from appliance.store.waiters import EventWaiter
from appliance.store.documents import Doc, check_id, clone, new_id
from appliance.store.memtable import MemTable

_GONE = None


class StoredDocument(Document):
    """A document handed out by the table: a deep copy, with its _id as doc_id."""

    def __init__(self, value: Mapping[str, Any], doc_id: str) -> None:
        copy = clone(value if type(value) is dict else dict(value))
        super().__init__(copy, doc_id)  # type: ignore[arg-type]  # ids are strings here


class Draft(MutableMapping[str, Doc]):
    """The table as an updater sees it: copies on read, records what it changed."""

    def __init__(self, docs: dict[str, Doc]) -> None:
        self._base = docs
        self._work: dict[str, Doc | None] = {}

    def __getitem__(self, doc_id: str) -> Doc:
        if doc_id in self._work:
            doc = self._work[doc_id]
            if doc is _GONE:
                raise KeyError(doc_id)
            return doc
        copy: Doc = clone(self._base[doc_id])
        self._work[doc_id] = copy
        return copy

    def __setitem__(self, doc_id: str, doc: Doc) -> None:
        self._work[doc_id] = doc

    def __delitem__(self, doc_id: str) -> None:
        if doc_id not in self:
            raise KeyError(doc_id)
        self._work[doc_id] = _GONE

    def __contains__(self, doc_id: object) -> bool:
        if doc_id in self._work:
            return self._work[doc_id] is not _GONE
        return doc_id in self._base

    def __iter__(self) -> Iterator[str]:
        for doc_id in self._base:
            if self._work.get(doc_id, self) is not _GONE:
                yield doc_id
        for doc_id, doc in self._work.items():
            if doc is not _GONE and doc_id not in self._base:
                yield doc_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def clear(self) -> None:
        """Remove every document."""
        self._work = dict.fromkeys(self._base, _GONE)

    def changes(self) -> Iterator[tuple[str, Doc | None]]:
        """Yield (id, new document or None if removed) for what really changed."""
        for doc_id, doc in self._work.items():
            base = self._base.get(doc_id)
            if doc is _GONE:
                if base is not None:
                    yield doc_id, None
            elif doc != base:
                yield doc_id, doc


class _NoStorage(Storage):
    """Stands in for TinyDB's storage: the table reads and writes the MemTable instead."""

    def read(self) -> dict[str, dict[str, Any]] | None:
        """Return nothing; never used."""
        return None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Refuse; never used."""
        raise NotImplementedError("write through the table")


class DocumentTable(Table):
    """A tinydb Table whose doc_id is the document's _id; writes block until fsynced.

    tinydb types document ids as int; here they are the string ids, hence the
    few type: ignore[override] below.
    """

    document_class = StoredDocument  # type: ignore[assignment]
    document_id_class = str  # type: ignore[assignment]

    def __init__(self, name: str, mem: MemTable) -> None:
        super().__init__(_NoStorage(), name, cache_size=0)
        self._mem = mem

    def insert(self, document: Mapping[str, Any]) -> str:  # type: ignore[override]
        """Insert a document (its _id is kept if it has one); return its id."""
        return str(super().insert(self._identified(document)))

    def insert_multiple(  # type: ignore[override]
        self, documents: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Insert documents in one commit; return their ids."""
        return [str(i) for i in super().insert_multiple(map(self._identified, documents))]

    def upsert(  # type: ignore[override]
        self, document: Mapping[str, Any], cond: Any = None
    ) -> list[str]:
        """Update the matching documents (by cond or _id), or insert this one."""
        return [str(i) for i in super().upsert(self._identified(document), cond)]

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """Return one document by condition or doc_id, or several by doc_ids."""
        with self._mem.lock:
            return super().get(*args, **kwargs)

    def search(self, cond: Any) -> list[Document]:
        """Return copies of the documents matching a tinydb condition."""
        with self._mem.lock:
            return super().search(cond)

    def __len__(self) -> int:
        return len(self._mem.docs)

    def __iter__(self) -> Iterator[Document]:
        with self._mem.lock:
            items = list(self._mem.docs.items())
        for doc_id, doc in items:
            yield self.document_class(doc, doc_id)

    def _identified(self, document: Any) -> Any:
        if isinstance(document, Document):
            return self.document_class(document, check_id(str(document.doc_id)))
        if isinstance(document, Mapping) and "_id" in document:
            return self.document_class(document, check_id(document["_id"]))
        return document

    def _get_next_id(self) -> str:
        return new_id()

    def _read_table(self) -> dict[str, Mapping[str, Any]]:
        return self._mem.docs  # type: ignore[return-value]

    def _update_table(self, updater: Callable[[dict[Any, Mapping[str, Any]]], None]) -> None:
        _refuse_event_loop()
        waiter = EventWaiter()
        with self._mem.lock:
            draft = Draft(self._mem.docs)
            updater(draft)  # type: ignore[arg-type]
            staged, data = self._mem.stage(draft.changes())
            self._mem.commit(staged, data, waiter)
        waiter.wait()


def _refuse_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "a table write waits for the disk and would stall the event loop; call it "
        "through asyncio.to_thread, or use the collection's async create/put/delete"
    )
