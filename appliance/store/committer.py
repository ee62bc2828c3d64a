"""The committer thread: the only code that touches a store's files, one fsync per batch."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, cast

from appliance.store.documents import Doc
from appliance.store.errors import StoreError
from appliance.store.waiters import EventWaiter, FutureWaiter, Waiter, wake

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Journal(Protocol):
    """A collection's journal as the committer sees it."""

    lock: threading.RLock

    def append(self, data: bytes) -> None:
        """Write data at the end of the journal and fsync it."""

    def compaction_due(self) -> bool:
        """Tell whether the journal has grown enough to be folded into the snapshot."""

    def documents(self) -> list[Doc]:
        """Return the documents in memory (called with lock held)."""

    def compact(self, docs: list[Doc], *, strict: bool = False) -> None:
        """Write docs as the new snapshot, then empty the journal (log failures unless strict)."""


@dataclass
class _Append:
    journal: Journal
    data: bytes
    waiter: Waiter
    revert: Callable[[], None]


@dataclass
class _Call:
    fn: Callable[[], object]
    waiter: Waiter


class Committer:
    """Owns a store's files: appends journal lines in batches, runs file jobs in order."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cond = threading.Condition()
        self._queue: list[_Append | _Call] = []
        self._stopping = False
        self._failure: str | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"store-committer:{root}", daemon=True
        )
        self._thread.start()

    def check_writable(self) -> None:
        """Raise StoreError if the store is closed, or refuses writes since one failed."""
        if self._failure is not None:
            raise StoreError(self._failure)
        if self._stopping:
            raise StoreError(f"the store at {self._root} is closed")

    def append(
        self, journal: Journal, data: bytes, waiter: Waiter, revert: Callable[[], None]
    ) -> None:
        """Queue data for the journal; the waiter is settled after the fsync covering it.

        The change is already in memory: if it never reaches the disk, the
        committer calls revert (with the journal's lock held) before failing
        the waiter. Raises StoreError, queueing nothing, if writes are refused.
        """
        with self._cond:
            self.check_writable()
            self._queue.append(_Append(journal, data, waiter, revert))
            self._cond.notify()

    def call(self, fn: Callable[[], T]) -> Awaitable[T]:
        """Run fn on the committer thread, after everything queued before it."""
        waiter = FutureWaiter(asyncio.get_running_loop())
        self._submit(_Call(fn, waiter))
        return cast("asyncio.Future[T]", waiter.future)

    def call_sync(self, fn: Callable[[], T]) -> T:
        """Run fn on the committer thread and block until it is done."""
        waiter = EventWaiter()
        self._submit(_Call(fn, waiter))
        return cast(T, waiter.wait())

    def compact(self, journal: Journal) -> Awaitable[None]:
        """Fold the journal into its snapshot now, whatever its size."""
        return self.call(lambda: self._compact(journal, strict=True))

    def stop(self) -> None:
        """Finish everything queued, then end the thread (blocks)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _submit(self, item: _Call) -> None:
        with self._cond:
            if self._stopping:
                raise StoreError(f"the store at {self._root} is closed")
            self._queue.append(item)
            self._cond.notify()

    def _run(self) -> None:
        while (batch := self._next()) is not None:
            if isinstance(batch, _Call):
                try:
                    result = batch.fn()
                except BaseException as exc:  # the caller gets it; the thread goes on
                    batch.waiter.settle(None, exc)
                else:
                    batch.waiter.settle(result, None)
            else:
                self._flush(batch)

    def _next(self) -> list[_Append] | _Call | None:
        """Take the next job, or every append queued before it: what is left is newer."""
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if not self._queue:
                return None
            first = self._queue[0]
            if isinstance(first, _Call):
                del self._queue[0]
                return first
            end = next((n for n, item in enumerate(self._queue) if isinstance(item, _Call)),
                       len(self._queue))
            batch = cast(list[_Append], self._queue[:end])
            del self._queue[:end]
            return batch

    def _flush(self, appends: list[_Append]) -> None:
        groups: dict[int, list[_Append]] = {}
        for item in appends:
            groups.setdefault(id(item.journal), []).append(item)
        ordered = list(groups.values())
        for position, items in enumerate(ordered):
            if not self._write(items):
                self._abandon([item for group in ordered[position:] for item in group])
                return
            journal = items[0].journal
            if journal.compaction_due():
                self._compact(journal)

    def _write(self, items: list[_Append]) -> bool:
        """Append and fsync items' lines, then wake their writers; False if that failed."""
        if self._failure is not None:
            return False
        try:
            items[0].journal.append(b"".join(item.data for item in items))
        except Exception as exc:  # OSError, or a journal closed under us
            self._fail(exc)
            return False
        wake((item.waiter for item in items), None)
        return True

    def _fail(self, exc: Exception) -> None:
        reason = getattr(exc, "strerror", None) or str(exc)
        with self._cond:
            self._failure = (
                f"the store at {self._root} can't be written: {reason}. Writes are "
                "refused from now on, and nothing unsaved was reported as saved; "
                "check the data disk (is it full or unplugged?), then restart Hearth"
            )
        logger.error("%s", self._failure)

    def _abandon(self, items: list[_Append]) -> None:
        """Take back from memory, newest first, every change that won't reach the disk."""
        with self._cond:
            doomed = items + [i for i in self._queue if isinstance(i, _Append)]
            self._queue = [i for i in self._queue if isinstance(i, _Call)]
        by_journal: dict[int, list[_Append]] = {}
        for item in doomed:
            by_journal.setdefault(id(item.journal), []).append(item)
        for group in by_journal.values():
            with group[0].journal.lock:
                for item in reversed(group):
                    item.revert()
        wake((item.waiter for item in doomed), self._failure)

    def _compact(self, journal: Journal, *, strict: bool = False) -> None:
        # Lines queued but not yet written are already in memory: write them
        # first, so that the snapshot and the journal end at the same point.
        with journal.lock:
            with self._cond:
                pending = [i for i in self._queue
                           if isinstance(i, _Append) and i.journal is journal]
                self._queue = [i for i in self._queue
                               if not (isinstance(i, _Append) and i.journal is journal)]
            docs = journal.documents()
        if pending and not self._write(pending):
            self._abandon(pending)
            if strict:
                raise StoreError(str(self._failure))
            return
        try:
            journal.compact(docs, strict=strict)
        except Exception:
            if strict:
                raise
            logger.exception("folding a journal of %s into its snapshot failed; it "
                             "will be tried again as the journal grows", self._root)
