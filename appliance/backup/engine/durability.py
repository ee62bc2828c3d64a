"""Files that appear whole or not at all: temporary name, fsync, rename, folder fsync."""
from __future__ import annotations

import os
from pathlib import Path

from appliance.backup.engine.backuperrors import explain
from appliance.store.fileops import FileOps

_OPS = FileOps()


def fsync_dir(path: Path) -> None:
    """Make the entries of a folder (new or renamed files) durable."""
    _OPS.fsync_dir(path)


def write_atomic(path: Path, data: bytes, tmp_dir: Path, *, doing: str) -> None:
    """Write data to path so that a crash leaves the old file or the whole new one."""
    temp = tmp_dir / f"{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise explain(exc, path.parent, doing) from None
