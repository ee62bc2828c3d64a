"""Work that, once started, is finished even if the coroutine that asked for it is cancelled."""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


class Stopped(Exception):
    """Blocking work (a copy, a hash) stopped early because its caller was cancelled."""


async def settle(work: Awaitable[T], on_cancel: Callable[[], None] | None = None) -> T:
    """Await work to its end even if the caller is cancelled meanwhile, then re-raise.

    A change to the tree is a disk rename plus document writes: cut in between,
    the metadata would lose track of the item until a rescan (a moved item its
    id). `on_cancel` may ask the work to stop early.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_retrieve)
        if on_cancel is not None:
            on_cancel()
        await asyncio.wait([task])
        raise


def settled(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Make a coroutine function run to its end once started (see settle)."""
    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await settle(method(*args, **kwargs))
    return run


async def stoppable(work: Callable[[threading.Event], T]) -> T:
    """Run blocking work in a thread; if cancelled, ask it to stop and wait until it has."""
    stop = threading.Event()
    return await settle(asyncio.to_thread(work, stop), stop.set)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and not isinstance(task.exception(), (type(None), Stopped)):
        logger.error("work on the files ended with an error after its caller left: %s",
                     task.exception())
