"""A collection: the async document API of one doctype, plus its TinyDB table."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from appliance.store.waiters import FutureWaiter
from appliance.store.documents import (
    Doc, build, check_fields, check_id, clone, new_id, next_rev,
)
from appliance.store.errors import DocumentConflict, InvalidDocument, InvalidSelector, DocumentNotFound
from appliance.store.journal import del_line, put_line
from appliance.store.memtable import Change, MemTable
from appliance.store.selector import Selector, SortOrder
from appliance.store.table import DocumentTable


class Collection:
    """The documents of one doctype: async writes that return once on disk, sync reads."""

    def __init__(self, doctype: str, mem: MemTable) -> None:
        self.doctype = doctype
        self._mem = mem
        self.table = DocumentTable(doctype, mem)

    def __repr__(self) -> str:
        return f"<Collection {self.doctype} ({len(self)} documents)>"

    def __len__(self) -> int:
        return len(self._mem.docs)

    @property
    def indexes(self) -> tuple[str, ...]:
        """The fields with a hash index."""
        return self._mem.indexed

    def ensure_index(self, field: str) -> None:
        """Keep a hash index on field (dotted paths allowed) from now on."""
        self._mem.add_index(field)

    async def create(self, fields: Mapping[str, Any]) -> Doc:
        """Store a new document (with a fresh _id unless given); return it with _id and _rev."""
        check_fields(fields)
        if "_rev" in fields:
            raise InvalidDocument(
                "create takes no _rev; to change an existing document, use put with its _rev"
            )
        doc_id = check_id(fields["_id"]) if "_id" in fields else new_id()
        self._expect(doc_id, None)
        doc, text = build(doc_id, next_rev(None), fields)
        await self._commit(doc_id, None, [(doc_id, doc)], put_line(text))
        return clone(doc)

    async def put(self, doc: Mapping[str, Any]) -> Doc:
        """Update a document (its _rev must be the current one) or create it with its _id."""
        check_fields(doc)
        if "_id" not in doc:
            raise InvalidDocument("put needs the document's _id; use create for a new one")
        doc_id = check_id(doc["_id"])
        rev = doc.get("_rev")
        current = self._expect(doc_id, rev)
        new, text = build(doc_id, next_rev(current), doc)
        await self._commit(doc_id, rev, [(doc_id, new)], put_line(text))
        return clone(new)

    async def delete(self, doc_id: str, rev: str) -> None:
        """Delete a document, given its current _rev."""
        self._expect(doc_id, rev, deleting=True)
        await self._commit(doc_id, rev, [(doc_id, None)], del_line(doc_id))

    async def compact(self) -> None:
        """Fold the journal into the snapshot now (for backups and benchmarks)."""
        await self._mem.compact()

    def get(self, doc_id: str) -> Doc | None:
        """Return a copy of a document, or None."""
        doc = self._mem.docs.get(doc_id)
        return None if doc is None else clone(doc)

    def find(
        self, selector: Mapping[str, Any], *, limit: int | None = None, skip: int = 0,
        sort: list[Any] | None = None,
    ) -> list[Doc]:
        """Return copies of the documents matching a Mango-like selector."""
        query, order = Selector(selector), SortOrder(sort)
        for name, value in (("limit", limit), ("skip", skip)):
            if value is not None and (type(value) is not int or value < 0):
                raise InvalidSelector(f"{name} must be a whole number >= 0, not {value!r}")
        return [clone(doc) for doc in order.page(self._mem.matching(query), skip, limit)]

    def peek(self, selector: Mapping[str, Any]) -> list[Doc]:
        """Return the stored documents matching a selector, not copied: read them, never change them.

        Writes replace a stored document rather than change it, so what this
        returns stays as it was; it saves copying where a listing reads many.
        """
        return self._mem.matching(Selector(selector))

    def all(self) -> list[Doc]:
        """Return copies of every document."""
        return [clone(doc) for doc in self._mem.documents()]

    def _expect(self, doc_id: str, rev: object, *, deleting: bool = False) -> str | None:
        """Return the current rev if rev may write doc_id, else raise DocumentConflict or DocumentNotFound."""
        current = self._mem.docs.get(doc_id)
        if current is None and deleting:
            raise DocumentNotFound(f"there is no document {doc_id!r} in {self.doctype}")
        if current is None:
            if rev is not None:
                raise DocumentConflict(
                    f"document {doc_id!r} doesn't exist in {self.doctype} (was it "
                    "deleted?); to store it again, send it without _rev"
                )
            return None
        if rev is None:
            raise DocumentConflict(
                f"document {doc_id!r} already exists in {self.doctype}; send its "
                "current _rev to change it"
            )
        if rev != current["_rev"]:
            raise DocumentConflict(
                f"document {doc_id!r} in {self.doctype} changed since revision {rev} "
                f"(it is at {current['_rev']}); read it again and redo the change"
            )
        return str(rev)

    async def _commit(self, doc_id: str, rev: object, changes: list[Change], data: bytes) -> None:
        waiter = FutureWaiter(asyncio.get_running_loop())
        with self._mem.lock:
            # Checked again under the lock: another writer may have won meanwhile.
            self._expect(doc_id, rev, deleting=changes[0][1] is None)
            self._mem.commit(changes, data, waiter)
        await waiter.future
