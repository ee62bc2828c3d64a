"""Waiters: how a writer, coroutine or thread, hears that the committer is done with it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable

from appliance.store.errors import StoreError

logger = logging.getLogger(__name__)


class Waiter:
    """What a writer waits on until the committer settles its request."""

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hand the outcome to the waiting writer."""
        raise NotImplementedError


class FutureWaiter(Waiter):
    """A waiter for a coroutine: settles an asyncio future from the committer thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[object] = loop.create_future()

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hand the outcome to the waiting coroutine through its event loop."""
        _call_in(self.loop, self.resolve, result, error)

    def resolve(self, result: object, error: BaseException | None) -> None:
        """Settle the future; call on its event loop."""
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


def wake(waiters: Iterable[Waiter], failure: str | None) -> None:
    """Tell writers their lines are on disk (or, given a failure, that they never will be)."""
    coroutines: dict[asyncio.AbstractEventLoop, list[FutureWaiter]] = {}
    for waiter in waiters:
        if isinstance(waiter, FutureWaiter):
            coroutines.setdefault(waiter.loop, []).append(waiter)
        else:
            waiter.settle(None, StoreError(failure) if failure else None)
    for loop, group in coroutines.items():
        # One wake-up of each event loop for the whole batch, not one per writer.
        _call_in(loop, _wake_all, group, failure)


def _wake_all(group: list[FutureWaiter], failure: str | None) -> None:
    for waiter in group:
        waiter.resolve(None, StoreError(failure) if failure else None)


def _call_in(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object
) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        logger.debug("a writer's event loop closed before its commit finished")
