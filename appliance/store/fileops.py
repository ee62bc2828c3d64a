"""The system calls that make data durable, gathered so tests can count or fail them."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from appliance import durable


@dataclass
class FileOps:
    """Positioned write, data sync and rename; the store changes files with nothing else.

    The writing itself is appliance.durable's; these methods hand it this seam's calls.
    """

    write: Callable[[int, bytes, int], int] = os.pwrite
    # fdatasync: a journal overwrites blocks it allocated beforehand, so its size
    # and block map don't change and there is no metadata to wait for.
    fsync: Callable[[int], None] = os.fdatasync
    replace: Callable[[Path, Path], None] = os.replace

    def write_all(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of data at offset, looping over short writes."""
        durable.write_all(fd, data, offset, self.write)

    def fsync_dir(self, path: Path) -> None:
        """Make the entries of a folder (new or renamed files) durable."""
        durable.fsync_dir(path)

    def place(self, temp: Path, path: Path) -> None:
        """Rename a complete, synced file over path and make the rename durable."""
        durable.place(temp, path, replace=self.replace, sync_dir=self.fsync_dir)

    def atomic_file(self, path: Path, *, mode: int = 0o600,
                    temp: Path | None = None) -> AbstractContextManager[int]:
        """Open a temporary file that replaces path, synced, when the block ends."""
        return durable.atomic_file(path, mode=mode, temp=temp, fsync=self.fsync,
                                   replace=self.replace, sync_dir=self.fsync_dir)

    def atomic_write(self, path: Path, data: bytes, *, mode: int = 0o600) -> None:
        """Replace path with data so that a crash leaves the old file or the whole new one."""
        with self.atomic_file(path, mode=mode) as fd:
            self.write_all(fd, data, 0)
