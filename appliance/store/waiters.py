"""Waiters: how a writer, coroutine or thread, hears that the committer is done with it."""

from __future__ import annotations

import asyncio
import logging
import threading

logger = logging.getLogger(__name__)


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
        if self.future.done():  # the writer was cancelled; the write still happened
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
