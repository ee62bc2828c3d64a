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

    def compact(self, docs: list[Doc]) -> None:
        """Write docs as the new snapshot, then empty the journal."""


class Waiter:
    """What a writer waits on until the committer settles its request."""

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hand the outcome to the waiting writer."""
        raise NotImplementedError


class FutureWaiter(Waiter):
    """A waiter for a coroutine: settles an asyncio future from the committer thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.future: asyncio.Future[object] = loop.create_future()

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hand the outcome to the waiting coroutine through its event loop."""
        try:
            self._loop.call_soon_threadsafe(self._set, result, error)
        except RuntimeError:
            logger.debug("a writer's event loop closed before its commit finished")

    def _set(self, result: object, error: BaseException | None) -> None:
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


class EventWaiter(Waiter):
    """A waiter for a thread: blocks on an event."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._result: object = None
        self._error: BaseException | None = None

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hand the outcome to the waiting thread."""
        self._result, self._error = result, error
        self._event.set()

    def wait(self) -> object:
        """Block until settled; return the result or raise the error."""
        self._event.wait()
        if self._error is not None:
            raise self._error
        return self._result


@dataclass
class _Append:
    journal: Journal
    data: bytes
    waiter: Waiter


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
        refusal = self._refusal()
        if refusal is not None:
            raise StoreError(refusal)

    def _refusal(self) -> str | None:
        if self._failure is not None:
            return self._failure
        if self._stopping:
            return f"the store at {self._root} is closed"
        return None

    def append(self, journal: Journal, data: bytes, waiter: Waiter) -> None:
        """Queue data for the journal; the waiter is settled after the fsync covering it."""
        with self._cond:
            refusal = self._refusal()
            if refusal is not None:
                waiter.settle(None, StoreError(refusal))
                return
            self._queue.append(_Append(journal, data, waiter))
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
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            self._process(batch)

    def _process(self, batch: list[_Append | _Call]) -> None:
        appends: list[_Append] = []
        for item in batch:
            if isinstance(item, _Append):
                appends.append(item)
                continue
            self._flush(appends)
            appends = []
            try:
                result = item.fn()
            except BaseException as exc:  # the caller gets it, the thread goes on
                item.waiter.settle(None, exc)
            else:
                item.waiter.settle(result, None)
        self._flush(appends)

    def _flush(self, appends: list[_Append]) -> None:
        groups: dict[int, list[_Append]] = {}
        for item in appends:
            groups.setdefault(id(item.journal), []).append(item)
        for items in groups.values():
            journal = items[0].journal
            if self._write(journal, items) and journal.compaction_due():
                self._compact(journal)

    def _write(self, journal: Journal, items: list[_Append]) -> bool:
        error: StoreError | None = None
        if self._failure is None:
            try:
                journal.append(b"".join(item.data for item in items))
            except Exception as exc:  # OSError, or a journal closed under us
                self._fail(exc)
        if self._failure is not None:
            error = StoreError(self._failure)
        for item in items:
            item.waiter.settle(None, StoreError(str(error)) if error else None)
        return error is None

    def _fail(self, exc: Exception) -> None:
        reason = getattr(exc, "strerror", None) or str(exc)
        with self._cond:
            self._failure = (
                f"the store at {self._root} can't be written: {reason}. Writes are "
                "refused from now on, and nothing unsaved was reported as saved; "
                "check the data disk (is it full or unplugged?), then restart Hearth"
            )
        logger.error("%s", self._failure)

    def _compact(self, journal: Journal) -> None:
        # Lines queued but not yet written are already in memory: write them
        # first, so that the snapshot and the journal end at the same point.
        with journal.lock:
            with self._cond:
                pending = [i for i in self._queue
                           if isinstance(i, _Append) and i.journal is journal]
                self._queue = [i for i in self._queue
                               if not (isinstance(i, _Append) and i.journal is journal)]
            docs = journal.documents()
        if pending and not self._write(journal, pending):
            return
        try:
            journal.compact(docs)
        except Exception:
            logger.exception("compacting a journal under %s failed; it will be "
                             "retried as the journal grows", self._root)
