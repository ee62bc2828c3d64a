"""The system calls that make data durable, gathered so tests can count or fail them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FileOps:
    """Positioned write, data sync and rename; the store changes files with nothing else."""

    write: Callable[[int, bytes, int], int] = os.pwrite
    # fdatasync: a journal overwrites blocks it allocated beforehand, so its size
    # and block map don't change and there is no metadata to wait for.
    fsync: Callable[[int], None] = os.fdatasync
    replace: Callable[[Path, Path], None] = os.replace

    def write_all(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of data at offset, looping over short writes."""
        while data:
            written = self.write(fd, data, offset)
            data, offset = data[written:], offset + written

    def fsync_dir(self, path: Path) -> None:
        """Make the entries of a folder (new or renamed files) durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
