"""Where a run's records and files go: checked against their doctype, deduplicated, stored."""
from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from appliance.doctypes import Doctype, SchemaError
from appliance.files import FileTree, FilesError, NotFound, check_name
from appliance.jobs.dedup import MissingKey, record_id
from appliance.jobs.manifest import Manifest
from appliance.jobs.protocol import ProtocolError, clip
from appliance.store import Collection, DocumentConflict, InvalidDocument

BATCH = 500  # records written together (they share the store's fsyncs)
REJECTS_LOGGED = 20
OpenCollection = Callable[[str], Awaitable[Collection]]
Log = Callable[[str, str], None]


class Incoming:
    """A file being received: its chunks flow into FileTree.write through a small queue."""

    def __init__(self, path: str, key: str | None, skip: bool) -> None:
        self.path, self.key, self.skip = path, key, skip
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=8)
        self.hash = hashlib.sha256()
        self.size = 0
        self.task: asyncio.Task[Any] | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield what arrives until the end; raise if the run fails before it."""
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class Sink:
    """Receives one run's records and files and stores them; counts what happened."""

    def __init__(self, manifest: Manifest, account_id: str, *, collection: OpenCollection,
                 doctypes: Mapping[str, Doctype], tree: FileTree | None, folder: str,
                 log: Log, max_file: int = 2 << 30) -> None:
        self.manifest, self.account_id = manifest, account_id
        self._collection, self._doctypes, self._tree = collection, doctypes, tree
        self._folder, self._log, self._max_file = folder, log, max_file
        self._batch: dict[str, dict[str, dict[str, Any]]] = {}
        self._pending = 0
        self._file: Incoming | None = None
        self._file_ids: dict[str, str] = {}
        self.saved: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.duplicates = 0
        self.rejected = 0
        self.files = 0

    def _reject(self, why: str) -> None:
        self.rejected += 1
        if self.rejected <= REJECTS_LOGGED:
            self._log("warning", f"a record was refused: {why}")

    async def record(self, doctype: str, data: dict[str, Any]) -> None:
        """Check one record; queue it unless it is a duplicate; write a full batch."""
        rule = self.manifest.doctypes.get(doctype)
        if rule is None:
            return self._reject(f"{doctype} is not a doctype this connector declares")
        if any(key.startswith("_") for key in data):
            return self._reject("fields starting with _ are the store's own")
        data = {k: self._file_ids.get(v["$file"], None) if _is_file_ref(v) else v
                for k, v in data.items()}
        spec = self._doctypes.get(doctype)
        if spec is None or spec.fields is None or "source" in spec.fields:
            data["source"] = {"connector": self.manifest.slug, "account": self.account_id}
        try:
            if spec is not None:
                spec.validate(data)
            doc_id = record_id(self.manifest.slug, doctype, rule, data)
        except (SchemaError, MissingKey) as exc:
            return self._reject(clip(exc, 300))
        batch = self._batch.setdefault(doctype, {})
        if doc_id in batch:  # sent twice in one run: the later version may update it
            queued = batch[doc_id]
            if rule.update and not (rule.newer and _older(data.get(rule.newer),
                                                          queued.get(rule.newer))):
                queued.update(data)
            self.duplicates += 1
            return None
        coll = await self._collection(doctype)
        stored = coll.get(doc_id)
        if stored is not None:
            return await self._merge(coll, doctype, stored, data)
        batch[doc_id] = {"_id": doc_id, **data}
        self._pending += 1
        if self._pending >= BATCH:
            await self.flush()
        return None

    async def _merge(self, coll: Collection, doctype: str, stored: dict[str, Any],
                     data: dict[str, Any]) -> None:
        rule = self.manifest.doctypes[doctype]
        merged = {**stored, **data}
        newer = rule.newer
        older = newer is not None and _older(data.get(newer), stored.get(newer))
        if not rule.update or older or merged == stored:
            self.duplicates += 1
            return
        try:
            await coll.put(merged)
        except DocumentConflict:  # the owner edited it meanwhile: theirs wins
            self.duplicates += 1
            return
        self.updated[doctype] += 1

    async def flush(self) -> None:
        """Write the queued records (concurrently, so they share fsyncs)."""
        batches, self._batch, self._pending = self._batch, {}, 0
        for doctype, docs in batches.items():
            coll = await self._collection(doctype)
            results = await asyncio.gather(*(coll.create(doc) for doc in docs.values()),
                                           return_exceptions=True)
            for result in results:
                if isinstance(result, DocumentConflict):  # another run stored it meanwhile
                    self.duplicates += 1
                elif isinstance(result, InvalidDocument):
                    self._reject(clip(result, 300))
                elif isinstance(result, BaseException):
                    raise result
                else:
                    self.saved[doctype] += 1

    async def open_file(self, message: dict[str, Any]) -> None:
        """Start receiving a file; it is written only once complete and checked."""
        if self._file is not None:
            raise ProtocolError("started a file before ending the previous one")
        if self._tree is None:
            raise ProtocolError("sent a file, but this run has no Drive to put it in")
        try:
            parts = [check_name(p) for p in str(message.get("folder", "")).split("/") if p]
            name = check_name(message["name"])
        except FilesError as exc:
            raise ProtocolError(f"sent a file with a name the Drive refuses: {exc}") from None
        folder = "/".join([self._folder.rstrip("/"), *parts])
        path = f"{folder}/{name}"
        key = message.get("key") if isinstance(message.get("key"), str) else None
        skip = await self._same_file(path, message.get("sha256"), key)
        self._file = Incoming(path, key, skip)
        if not skip:
            await self._makedirs(folder)
            self._file.task = asyncio.create_task(
                self._tree.write(path, self._file.chunks(), max_size=self._max_file))

    async def _same_file(self, path: str, sha256: object, key: str | None) -> bool:
        assert self._tree is not None
        if not isinstance(sha256, str):
            return False
        try:
            entry = await self._tree.stat(path)
        except NotFound:
            return False
        if entry.sha256 != sha256:
            return False
        if key is not None:
            self._file_ids[key] = entry.id
        return True

    async def _makedirs(self, folder: str) -> None:
        assert self._tree is not None
        path = ""
        for part in folder.strip("/").split("/"):
            path += "/" + part
            try:
                await self._tree.stat(path)
            except NotFound:
                await self._tree.mkdir(path)

    async def chunk(self, data: bytes) -> None:
        """Pass one chunk of the current file on."""
        current = self._file
        if current is None:
            raise ProtocolError("sent a file chunk outside a file")
        current.hash.update(data)
        current.size += len(data)
        if current.size > self._max_file:
            raise ProtocolError(f"sent a file larger than {self._max_file >> 20} MiB")
        if current.task is not None:
            if current.task.done():  # the write failed early (disk full…): say why
                await current.task
            await current.queue.put(data)

    async def end_file(self, sha256: str, size: int) -> None:
        """Finish the current file if it arrived whole, else refuse it."""
        current, self._file = self._file, None
        if current is None:
            raise ProtocolError("ended a file it never started")
        if current.hash.hexdigest() != sha256 or current.size != size:
            error = ProtocolError(f"sent {current.path} with a size or checksum that does "
                                  f"not match its content; it was not saved")
            await _finish(current, error, quiet=True)
            raise error
        if current.skip:
            self.duplicates += 1
            return
        entry = await _finish(current, None)
        if current.key is not None:
            self._file_ids[current.key] = entry.id
        self.files += 1

    async def close(self) -> None:
        """Write what is queued; drop a file left half-sent (never saved as complete)."""
        current, self._file = self._file, None
        if current is not None:
            await _finish(current, ProtocolError("the run ended in the middle of a file"),
                          quiet=True)
        await self.flush()


async def _finish(current: Incoming, error: BaseException | None, *, quiet: bool = False
                  ) -> Any:
    if current.task is None:
        return None
    await current.queue.put(error)
    if error is None:
        return await current.task
    try:
        await current.task
    except BaseException:
        if not quiet:
            raise
    return None


def _is_file_ref(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$file"), str)


def _older(new: object, old: object) -> bool:
    try:
        return new is None or (old is not None and new < old)  # type: ignore[operator]
    except TypeError:
        return False
