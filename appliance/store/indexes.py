"""Hash indexes: the ids of the documents holding each value of a declared field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from appliance.store.documents import Doc
from appliance.store.selector import MISSING, resolve

_HASHABLE = (str, int, float, bool, type(None))


class HashIndex:
    """Ids by the scalar value of one (possibly dotted) field."""

    def __init__(self, field: str, docs: Iterable[Doc] = ()) -> None:
        self.field = field
        self._path = field.split(".")
        self._buckets: dict[Any, set[str]] = {}
        for doc in docs:
            self.add(doc)

    def add(self, doc: Doc) -> None:
        """Index a document."""
        value = resolve(doc, self._path)
        if value is not MISSING and isinstance(value, _HASHABLE):
            self._buckets.setdefault(value, set()).add(doc["_id"])

    def remove(self, doc: Doc) -> None:
        """Forget a document (as it was when added)."""
        value = resolve(doc, self._path)
        if value is not MISSING and isinstance(value, _HASHABLE):
            bucket = self._buckets.get(value)
            if bucket is not None:
                bucket.discard(doc["_id"])
                if not bucket:
                    del self._buckets[value]

    def lookup(self, values: Iterable[Any]) -> set[str] | None:
        """Return the ids that may hold one of values, or None if the index can't tell."""
        ids: set[str] = set()
        for value in values:
            if not isinstance(value, _HASHABLE):
                return None
            ids |= self._buckets.get(value, set())
        return ids
