"""What the box is doing with backups right now, for the progress bar (a small JSON)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

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
        return 0 if total <= 0 else min(99, done * 100 // total)

    @property
    def running(self) -> bool:
        """Tell whether the operation is under way."""
        return self.state == RUNNING

    def end(self, state: str, message: str = "") -> None:
        """Mark the operation finished (done or failed)."""
        self.state, self.message, self.finished = state, message, time.time()

    def as_json(self) -> dict[str, Any]:
        """Return what the status endpoint answers."""
        return {**asdict(self), "percent": self.percent}
