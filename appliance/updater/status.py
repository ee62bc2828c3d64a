"""The status file: the last thing the root updater did, which the web page reads."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.durable import atomic_write

STATES = ("idle", "waiting", "installing", "done", "rolled-back", "refused")
FINAL = ("done", "rolled-back", "refused")
# Why the updater refused an update; the page words each one.
REASONS = ("signature", "older", "install", "files", "interrupted")


@dataclass(frozen=True)
class UpdateStatus:
    """The last thing the updater did, as the root side writes it and the page reads it."""

    state: str = "idle"
    version: str = ""
    previous: str = ""
    reason: str = ""
    detail: str = ""
    at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the status as a JSON object."""
        return asdict(self)


def read_status(path: Path) -> UpdateStatus:
    """Return the status file's content; idle when there is none or it cannot be read."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UpdateStatus()
    if not isinstance(raw, dict) or raw.get("state") not in STATES:
        return UpdateStatus()
    fields = UpdateStatus.__dataclass_fields__
    try:
        return UpdateStatus(**{k: raw[k] for k in fields if k in raw})
    except TypeError:
        return UpdateStatus()


def write_status(path: Path, state: str, version: str, *, previous: str = "",
                 reason: str = "", detail: str = "") -> UpdateStatus:
    """Replace the status file atomically (temp file, fsync, rename), readable by the daemon."""
    status = UpdateStatus(state=state, version=version, previous=previous, reason=reason,
                          detail=detail, at=time.time())
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0644: the daemon, another user, reads it
    atomic_write(path, json.dumps(status.to_json()).encode(), mode=0o644,
                 temp=path.with_name(f".status-{os.getpid()}.tmp"))
    return status
