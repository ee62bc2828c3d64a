"""The status file: the last thing the root updater did, which the web page reads."""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".status-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(status.to_json(), out)
            out.flush()
            os.fchmod(out.fileno(), 0o644)  # the daemon, another user, reads it
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return status


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in folder survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
