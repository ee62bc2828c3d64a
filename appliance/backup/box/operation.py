"""One backup operation at a time, as a task: started, guarded, stopped with the daemon."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from threading import Event

from appliance.backup.box.backupstatus import FAILED, Status
from appliance.backup.box.where import WhereError, where_error
from appliance.backup.engine.backuperrors import UNFORESEEN, BackupError
from appliance.errors import UserError
from appliance.i18n import N_

logger = logging.getLogger(__name__)


class Busy(UserError):
    """Another backup operation is under way."""

    status = 409

    def __init__(self) -> None:
        super().__init__(N_("Wait for the current task to end."))


class Interrupted(BackupError):
    """The daemon is stopping: the operation was cut short (the next run completes it)."""


@dataclass(frozen=True)
class Stopper:
    """Raises Interrupted from a progress callback once the daemon asks to stop."""

    event: Event

    def check(self) -> None:
        """Raise Interrupted if a stop was asked for."""
        if self.event.is_set():
            raise Interrupted("the box is stopping")


class OperationSlot:
    """Runs one operation at a time and keeps its status for the progress bar."""

    def __init__(self, say: Callable[..., str]) -> None:
        self.status = Status()
        self.stopper = Stopper(Event())
        self._say = say
        self._task: asyncio.Task[None] | None = None

    def busy(self) -> bool:
        """Tell whether an operation is under way."""
        return self._task is not None and not self._task.done()

    def start(self, action: str, work: Callable[[], Awaitable[None]]) -> None:
        """Start `work` as the operation `action` (Busy if one runs); its errors end it."""
        if self.busy():
            raise Busy()
        self.status = Status.begin(action)
        self.stopper.event.clear()
        self._task = asyncio.create_task(self._guarded(work))

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Interrupted:
            self.status.end(FAILED, self._say(N_("Stopped when the box stopped; the next backup "
                                                 "completes it.")))
        except (WhereError, BackupError) as exc:
            said = where_error(exc)
            self.status.end(FAILED, said.said(self._say), said.message, **said.params)
            logger.error("%s failed: %s", self.status.action, exc)
        except Exception as exc:
            self.status.end(FAILED, self._say(UNFORESEEN, detail=str(exc) or repr(exc)),
                            UNFORESEEN, detail=str(exc) or repr(exc))
            logger.exception("%s failed", self.status.action)

    async def stop(self) -> None:
        """Interrupt what runs (the engine is crash-safe) and wait for its thread."""
        self.stopper.event.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
