"""The adopted data disk, remembered on the system side (`system/datadisk.json`)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.datadisk.problems import DataDiskError
from appliance.durable import atomic_write

CHOICE_FILE = "datadisk.json"
SUPPORTED = ("ext4", "exfat", "ntfs")


@dataclass(frozen=True)
class Choice:
    """The adopted data disk, as remembered on the system side."""

    uuid: str
    fstype: str
    label: str
    name: str
    adopted_at: float


def choice_path(system: Path) -> Path:
    """Return the file that remembers the adopted disk."""
    return system / CHOICE_FILE


def read_choice(system: Path) -> Choice | None:
    """Return the adopted disk, or None while the data is in the embedded folder."""
    try:
        return Choice(**json.loads(choice_path(system).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise DataDiskError(f"{choice_path(system)} is damaged ({exc}); remove it to use "
                            f"the embedded data folder, then adopt the disk again") from None


def save_choice(system: Path, choice: Choice) -> None:
    """Remember the adopted disk, atomically: the old choice or the new, never half of one."""
    atomic_write(choice_path(system), json.dumps(asdict(choice)).encode(), mode=0o644)
