"""What a run came to: its status, error code, counts and log, live while it runs."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from appliance.jobs.protocol import clip

MAX_LOG = 400  # lines kept per run; the rest are counted

# Error codes the platform gives a run (a connector gives the others: connector.py).
TIMEOUT = "TIMEOUT"
MEMORY_LIMIT = "MEMORY_LIMIT"
CPU_LIMIT = "CPU_LIMIT"
CRASHED = "CRASHED"
PROTOCOL_ERROR = "PROTOCOL_ERROR"
FLOODED = "FLOODED"
INVALID_RECORD = "INVALID_RECORD"
STORE_ERROR = "STORE_ERROR"
INTERRUPTED = "INTERRUPTED"
INVALID_FIELDS = "INVALID_FIELDS"


@dataclass
class Outcome:
    """A run's result so far; `status` is running, then ok or failed."""

    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    status: str = "running"
    error: str | None = None
    message: str = ""
    saved: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    rejected: int = 0
    files: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    dropped_log: int = 0
    question: dict[str, Any] | None = None  # a question waiting for the owner's answer
    peak_mib: float | None = None  # the run's peak resident memory, as it reported it

    def add_log(self, level: str, message: str, at: float | None = None) -> None:
        """Keep one log line (the first MAX_LOG of a run; later ones are counted)."""
        if len(self.log) >= MAX_LOG:
            self.dropped_log += 1
            return
        self.log.append({"at": at if at is not None else time.time(), "level": level,
                         "message": clip(message)})

    def fail(self, code: str, message: str) -> None:
        """Mark the run failed, keeping the first reason given."""
        if self.status != "failed":
            self.status, self.error, self.message = "failed", code, clip(message)

    @property
    def running(self) -> bool:
        """Return whether the run has not ended yet."""
        return self.status == "running"

    def counts(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        return {"saved": dict(self.saved), "updated": dict(self.updated),
                "duplicates": self.duplicates, "rejected": self.rejected, "files": self.files}

    def summary(self) -> dict[str, Any]:
        """Return the one-line JSON summary (what `hearth connector run` prints)."""
        return {"status": self.status, "error": self.error, "message": self.message,
                **self.counts()}
