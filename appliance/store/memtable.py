"""A collection's documents in memory, its indexes, and the one lock that orders its writes."""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Iterable, Mapping
from typing import Any

from appliance.store.committer import Committer, Journal
from appliance.store.documents import Doc, build, check_fields, check_id, next_rev
from appliance.store.errors import StoreError
from appliance.store.indexes import HashIndex
from appliance.store.journal import del_line, put_line
from appliance.store.selector import Selector
from appliance.store.waiters import Waiter

Change = tuple[str, Doc | None]


class MemTable:
    """Documents by id; every change goes to memory and the journal queue under one lock."""

    def __init__(
        self, docs: dict[str, Doc], journal: Journal, committer: Committer
    ) -> None:
        self.docs = docs
        self.lock = journal.lock
        self._journal = journal
        self._committer = committer
        self._indexes: dict[str, HashIndex] = {}

    def add_index(self, field: str) -> None:
        """Maintain a hash index on field from now on."""
        with self.lock:
            if field not in self._indexes:
                self._indexes[field] = HashIndex(field, self.docs.values())

    @property
    def indexed(self) -> tuple[str, ...]:
        """The fields that have an index."""
        return tuple(self._indexes)

    def compact(self) -> Awaitable[None]:
        """Fold the journal into the snapshot now."""
        return self._committer.compact(self._journal)

    def documents(self) -> list[Doc]:
        """Return every document (the stored objects, which are never changed in place)."""
        with self.lock:
            return list(self.docs.values())

    def stage(
        self, changes: Iterable[tuple[str, Mapping[str, Any] | None]]
    ) -> tuple[list[Change], bytes]:
        """Give new revisions to changed documents; return them and their journal lines.

        Call with the lock held, so that the revisions follow the current ones.
        """
        staged: list[Change] = []
        lines: list[bytes] = []
        for doc_id, fields in changes:
            if fields is None:
                staged.append((doc_id, None))
                lines.append(del_line(doc_id))
                continue
            current = self.docs.get(check_id(doc_id))
            doc, text = build(
                doc_id, next_rev(current["_rev"] if current else None), check_fields(fields)
            )
            staged.append((doc_id, doc))
            lines.append(put_line(text))
        return staged, b"".join(lines)

    def commit(self, changes: list[Change], data: bytes, waiter: Waiter) -> None:
        """Apply changes in memory and queue their lines; call with the lock held."""
        if not changes:
            waiter.settle(None, None)
            return
        self._committer.check_writable()
        undo = [(doc_id, self.docs.get(doc_id)) for doc_id, _ in changes]
        self._apply(changes)
        try:
            self._committer.append(
                self._journal, data, waiter, lambda: self._apply(undo[::-1])
            )
        except StoreError:
            self._apply(undo[::-1])
            raise

    def _apply(self, changes: list[Change]) -> None:
        with self.lock:
            for doc_id, doc in changes:
                old = self.docs.pop(doc_id, None) if doc is None else self.docs.get(doc_id)
                if old is not None:
                    for index in self._indexes.values():
                        index.remove(old)
                if doc is not None:
                    self.docs[doc_id] = doc
                    for index in self._indexes.values():
                        index.add(doc)

    def matching(self, selector: Selector) -> list[Doc]:
        """Return the stored documents that match, through an index when one applies."""
        with self.lock:
            return [doc for doc in self.candidates(selector) if selector.matches(doc)]

    def candidates(self, selector: Selector) -> Collection[Doc]:
        """Return the documents an index narrows a search to (all of them without one)."""
        ids: set[str] | None = None
        for field, values in selector.equalities:
            index = self._indexes.get(field)
            found = index.lookup(values) if index is not None else None
            if found is not None:
                ids = found if ids is None else ids & found
        if ids is None:
            return self.docs.values()
        return [self.docs[doc_id] for doc_id in ids]
