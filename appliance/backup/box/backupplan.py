"""The backup plan, kept on the system side: where, when, how many to keep, the sealed key."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.backup.engine.retention import Policy
from appliance.durable import atomic_write

PLAN_FILE = "backup.json"
REPOS = "hearth-backups"
DISK, FOLDER = "disk", "folder"


class PlanError(Exception):
    """The plan file can't be read; the message says what to do."""


@dataclass(frozen=True)
class Target:
    """Where backups go: a disk (by filesystem UUID) or a folder (a developer's machine)."""

    kind: str
    name: str
    uuid: str = ""
    path: str = ""


@dataclass(frozen=True)
class BackupPlan:
    """What the box needs to back up by itself, and what the owner chose."""

    target: Target | None = None
    repo_id: str = ""
    sealed_key: str = ""  # the recovery key, sealed with the system keyring
    kit_confirmed: bool = False
    policy: dict[str, int] = field(default_factory=lambda: asdict(Policy()))
    next_run: float = 0.0
    last_success: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)  # the last run's outcome, for the page

    @property
    def ready(self) -> bool:
        """Tell whether backups can run without the owner (set up and key kept)."""
        return self.target is not None and bool(self.sealed_key)

    def retention(self) -> Policy:
        """Return the retention policy."""
        return Policy(**self.policy)

    def with_(self, **changes: Any) -> BackupPlan:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


def plan_path(system: Path) -> Path:
    """Return where the plan is kept."""
    return system / PLAN_FILE


def load(system: Path) -> BackupPlan:
    """Return the saved plan, or an empty one (blocking)."""
    path = plan_path(system)
    try:
        raw = json.loads(path.read_text())
        target = raw.pop("target", None)
        return BackupPlan(target=Target(**target) if target else None, **raw)
    except FileNotFoundError:
        return BackupPlan()
    except (ValueError, TypeError) as exc:
        raise PlanError(f"{path} is damaged ({exc}); remove it and set backups up again "
                        "(the backups on the disk are kept)") from None


def save(system: Path, plan: BackupPlan) -> None:
    """Write the plan atomically, readable by the box's user only (blocking)."""
    path = plan_path(system)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(asdict(plan)).encode())
