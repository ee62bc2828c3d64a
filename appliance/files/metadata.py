"""The io.hearth.files documents: lookups by path and folder, subtrees, and batched writes."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from appliance.files.folders import Copied
from appliance.files.entry import TRASH_ID, Doc, moved, new_doc
from appliance.files.errors import Conflict, FilesError
from appliance.files.names import join, rebase, split
from appliance.store import Collection, StoreError
from appliance.store import DocumentConflict

logger = logging.getLogger(__name__)
BATCH = 256  # writes in flight at once, so that they share the store's fsyncs


class _Probe:
    """A tinydb condition that shows every stored document to a function and matches none."""

    def __init__(self, see: Callable[[Doc], None]) -> None:
        self._see = see

    def __call__(self, doc: Doc) -> bool:
        self._see(doc)
        return False

    def is_cacheable(self) -> bool:
        """Never cache: the condition has a side effect."""
        return False


class Metadata:
    """One document per file or folder, found by path, by folder (dir_id) or by id."""

    def __init__(self, coll: Collection) -> None:
        self._coll = coll

    def get(self, doc_id: str) -> Doc | None:
        """Return a document by id, or None."""
        return self._coll.get(doc_id)

    def live(self, path: str) -> Doc | None:
        """Return the document of what is at `path` (not in the trash), or None."""
        return _one(self._coll.find({"path": path, "trashed": False}, limit=2), path)

    def seen(self, path: str) -> Doc | None:
        """Return live(path) as stored, not copied, for callers that only read it."""
        return _one(self._coll.peek({"path": path, "trashed": False}), path)

    def children(self, dir_id: str) -> list[Doc]:
        """Return the documents whose folder is dir_id."""
        return self._coll.find({"dir_id": dir_id})

    def named(self, dir_id: str) -> dict[str, Doc]:
        """Return the live documents of a folder by name (the first one if names repeat)."""
        docs: dict[str, Doc] = {}
        for doc in self.children(dir_id):
            if not doc["trashed"]:
                docs.setdefault(doc["name"], doc)
        return docs

    def listed(self, dir_id: str) -> dict[str, Doc]:
        """Return named(dir_id) as stored, not copied, for listings that only read them."""
        docs: dict[str, Doc] = {}
        for doc in self._coll.peek({"dir_id": dir_id}):
            if not doc["trashed"]:
                docs.setdefault(doc["name"], doc)
        return docs

    def trashed(self) -> list[Doc]:
        """Return the documents of the items put in the trash (not their content)."""
        return self._coll.find({"dir_id": TRASH_ID}, sort=[{"trashed_at": "desc"}])

    def subtree(self, doc: Doc) -> list[Doc]:
        """Return the documents of everything inside a folder, parents before children."""
        found: list[Doc] = []
        queue = [doc["_id"]]
        while queue:
            children = self.children(queue.pop())
            found.extend(children)
            queue.extend(child["_id"] for child in children if child["type"] == "directory")
        return found

    async def scan(self, see: Callable[[Doc], None]) -> None:
        """Show every document, as stored (read-only), to a function; copies nothing."""
        await asyncio.to_thread(self._coll.table.search, _Probe(see))

    async def save(self, docs: Sequence[Doc]) -> list[Doc]:
        """Write documents (created if new), many at once; return them as stored."""
        return await _batched(docs, self._coll.put)

    async def drop(self, docs: Sequence[Doc]) -> None:
        """Delete documents, many at once."""
        await _batched(docs, lambda doc: self._coll.delete(doc["_id"], doc["_rev"]))

    async def forget(self, doc: Doc) -> int:
        """Delete a document and those of everything inside it; return how many."""
        gone = [doc, *self.subtree(doc)] if doc["type"] == "directory" else [doc]
        await self.drop(gone)
        return len(gone)

    async def relocate(self, doc: Doc, path: str, name: str, dir_id: str,
                       **changes: Any) -> Doc:
        """Move a document (and its descendants' paths) to path; apply changes to all."""
        inside = self.subtree(doc) if doc["type"] == "directory" else []
        top = {**moved(doc, path, name, dir_id), **changes}
        below = [{**d, "path": rebase(d["path"], doc["path"], path), **changes} for d in inside]
        saved = await self.save([top, *below])
        return saved[0]

    def copies(self, copied: Sequence[Copied], src: str, dst: str, dir_id: str, now: float
               ) -> list[Doc]:
        """Return new documents for a folder copied from src to dst, with the tags of src's."""
        ids: dict[tuple[str, ...], str] = {}
        docs = []
        for item in copied:
            path = join(dst, "/".join(item.names)) if item.names else dst
            parent_id = ids[item.names[:-1]] if item.names else dir_id
            doc = new_doc(path, split(path)[1], parent_id, item.kind, item.st,
                          sha256=item.sha256, now=now)
            original = self.live(rebase(path, dst, src))
            doc["tags"] = original.get("tags", []) if original else []
            ids[item.names] = doc["_id"]
            docs.append(doc)
        return docs


def _one(found: list[Doc], path: str) -> Doc | None:
    if len(found) > 1:
        logger.warning("two documents describe %s; the next rescan keeps one", path)
    return found[0] if found else None


async def _batched(docs: Sequence[Doc], write: Callable[[Doc], Any]) -> list[Any]:
    """Run write over docs, BATCH at a time; raise the first failure as a FilesError."""
    results: list[Any] = []
    for start in range(0, len(docs), BATCH):
        done = await asyncio.gather(*(write(d) for d in docs[start:start + BATCH]),
                                    return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, DocumentConflict):
                raise Conflict("the file list changed meanwhile (another device?); "
                               "reload and try again") from outcome
            if isinstance(outcome, StoreError):
                raise FilesError(f"the file list can't be saved: {outcome}") from outcome
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
    return results

