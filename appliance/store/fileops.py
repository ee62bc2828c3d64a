"""The system calls that make data durable, gathered so tests can count or fail them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FileOps:
    """Write, fsync and rename; the store uses nothing else to change files."""

    write: Callable[[int, bytes], int] = os.write
    fsync: Callable[[int], None] = os.fsync
    replace: Callable[[Path, Path], None] = os.replace

    def write_all(self, fd: int, data: bytes) -> None:
        """Write all of data to fd, looping over short writes."""
        while data:
            written = self.write(fd, data)
            data = data[written:]

    def fsync_dir(self, path: Path) -> None:
        """Make the entries of a folder (new or renamed files) durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)
