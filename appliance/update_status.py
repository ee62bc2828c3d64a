"""What the web page and the root updater share: update file names, versions, the status file."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.durable import atomic_write

# A version is digits and dots, with an optional pre-release (a1, b2, rc3): nothing
# that could name a folder other than its own under /opt/hearth-releases.
RELEASE = r"[0-9]+(?:\.[0-9]+)*"
VERSION = rf"{RELEASE}(?:(?:a|b|rc)[0-9]+)?"
WHEEL_NAME = re.compile(rf"^hearthbox-({VERSION})-py3-none-any\.whl$")
SIGNATURE_SUFFIX = ".sig"
MAX_UPDATE_BYTES = 64 * 1024 * 1024  # a Hearth wheel is well under 2 MiB; room to grow

STATES = ("idle", "waiting", "installing", "done", "rolled-back", "refused")
FINAL = ("done", "rolled-back", "refused")
# Why the updater refused an update; the page words each one.
REASONS = ("signature", "older", "install", "files", "interrupted")


def wheel_version(name: str) -> str | None:
    """Return the version a Hearth wheel's file name carries, or None if it is not one."""
    found = WHEEL_NAME.match(name)
    return found.group(1) if found else None


def version_key(version: str) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Return a sort key for a version: releases by number, a pre-release before its release."""
    found = re.fullmatch(rf"({RELEASE})(?:(a|b|rc)([0-9]+))?", version)
    if found is None:
        return ((0,), (0, 0))  # a checkout that was not installed ("0+unknown"): oldest
    release = tuple(int(part) for part in found.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]  # 0.2 and 0.2.0 are the same version
    pre = (("a", "b", "rc").index(found.group(2)), int(found.group(3))) if found.group(2) \
        else (3, 0)
    return release, pre


def is_newer(candidate: str, running: str) -> bool:
    """Return whether candidate is a later version than running."""
    return version_key(candidate) > version_key(running)


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
