"""The adopted data disk, remembered on the system side (`system/datadisk.json`)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.datadisk.problems import DataDiskError
from appliance.store.fileops import FileOps

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
    path = choice_path(system)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(choice)))
    with temp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(temp, path)
    FileOps().fsync_dir(path.parent)
