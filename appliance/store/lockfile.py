"""The store folder's lock: one running Hearth per folder, named by its pid."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from appliance.store.errors import StoreLocked

LOCK_NAME = ".lock"


class StoreLock:
    """An exclusive flock on <folder>/.lock, holding the owner's pid."""

    def __init__(self, fd: int, folder: Path) -> None:
        self._fd = fd
        self.folder = folder

    @classmethod
    def acquire(cls, folder: Path) -> StoreLock:
        """Take the lock without waiting; raise StoreLocked naming the holder if it is taken."""
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(
                "the store folder %(folder)s is in use by a running Hearth (pid %(pid)s); "
                "stop that Hearth first (sudo systemctl stop hearth), or use another "
                "data folder", folder=str(folder), pid=holder
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, folder)

    def release(self) -> None:
        """Let another Hearth open the folder."""
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = -1
