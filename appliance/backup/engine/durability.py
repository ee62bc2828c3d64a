"""Backup files that appear whole or not at all, a failed write explained in the backup's words."""
from __future__ import annotations

import os
from pathlib import Path

from appliance.backup.engine.backuperrors import explain
from appliance.durable import atomic_write


def write_atomic(path: Path, data: bytes, tmp_dir: Path, *, doing: str) -> None:
    """Write data to path so that a crash leaves the old file or the whole new one."""
    try:
        atomic_write(path, data, temp=tmp_dir / f"{path.name}.{os.getpid()}.tmp")
    except OSError as exc:
        raise explain(exc, path.parent, doing) from None
