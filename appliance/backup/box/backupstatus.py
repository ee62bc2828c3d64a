"""What the box is doing with backups right now, for the progress bar (a small JSON)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from appliance.backup.box.words import said
from appliance.i18n import size_words

BACKUP, RESTORE, CHECK, MOVE = "backup", "restore", "check", "move"
IDLE, RUNNING, DONE, FAILED = "idle", "running", "done", "failed"


@dataclass
class Status:
    """One operation's progress: files and bytes done out of the total, and how it ended."""

    action: str = ""
    state: str = IDLE
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    said: str = ""  # the message to translate for whoever looks (a move has no owner yet)
    said_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def begin(cls, action: str, files_total: int = 0, bytes_total: int = 0) -> Status:
        """Return the status of an operation that starts now."""
        return cls(action, RUNNING, 0, files_total, 0, bytes_total, started=time.time())

    @property
    def percent(self) -> int:
        """Return how far it is, 0–100 (by bytes, else by files); 100 once done."""
        if self.state == DONE:
            return 100
        done, total = (self.bytes_done, self.bytes_total) if self.bytes_total else \
            (self.files_done, self.files_total)
        if total > 0 and done >= total and not self.running:
            return 100  # it went through everything, even if it found something wrong
        return 0 if total <= 0 else min(99, done * 100 // total)

    @property
    def running(self) -> bool:
        """Tell whether the operation is under way."""
        return self.state == RUNNING

    def end(self, state: str, message: str = "", said: str = "", **params: Any) -> None:
        """Mark the operation finished (done or failed)."""
        self.state, self.message, self.finished = state, message, time.time()
        self.said, self.said_params = said, params

    def message_in(self, translate: Callable[..., str],
                   size: Callable[[int], str] = size_words) -> str:
        """Return how it ended, in the language `translate` speaks when it can."""
        return said(translate, self.said, self.said_params, size) if self.said else \
            self.message

    def as_json(self, translate: Callable[..., str] | None = None,
                size: Callable[[int], str] = size_words) -> dict[str, Any]:
        """Return what the status endpoint answers."""
        answer = {**asdict(self), "percent": self.percent}
        if translate is not None:
            answer["message"] = self.message_in(translate, size)
        return answer
