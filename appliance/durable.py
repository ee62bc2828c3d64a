"""Durable writes: a file appears whole or not at all, and a folder's new entries survive a power cut.

The one place the pattern is written (temporary name, fsync, rename, fsync of the
folder); `FileOps` is the seam that passes its own system calls in, so that tests can
count or fail them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

Write = Callable[[int, bytes, int], int]
Sync = Callable[[int], None]
Rename = Callable[[Path, Path], None]


def fsync_dir(path: Path) -> None:
    """Make the entries of a folder (new, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes, offset: int, write: Write = os.pwrite) -> None:
    """Write all of data at offset, looping over short writes."""
    while data:
        written = write(fd, data, offset)
        data, offset = data[written:], offset + written


def place(temp: Path, path: Path, *, replace: Rename = os.replace,
          sync_dir: Callable[[Path], None] = fsync_dir) -> None:
    """Rename a complete, synced file or folder over path and make the rename durable."""
    replace(temp, path)
    sync_dir(path.parent)


@contextmanager
def atomic_file(path: Path, *, mode: int = 0o600, temp: Path | None = None,
                sync_folder: bool = True, fsync: Sync = os.fsync, replace: Rename = os.replace,
                sync_dir: Callable[[Path], None] = fsync_dir) -> Iterator[int]:
    """Yield the descriptor of a temporary file that replaces path, synced, when the block ends.

    If the block raises, the temporary file is removed and path is left as it was. The
    mode is set whatever the umask, and before any byte is written, so a key is never
    readable by others, even briefly. `sync_folder=False` leaves the folder's fsync to a
    caller that places many files in one folder.
    """
    temp = temp or path.with_name(f".{path.name}.tmp")
    temp.unlink(missing_ok=True)  # left over by a crash, perhaps with another mode
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        yield fd
        fsync(fd)
        os.close(fd)
        fd = -1
        replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    if sync_folder:
        sync_dir(path.parent)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600, temp: Path | None = None) -> None:
    """Replace path with data so that a crash leaves the old file or the whole new one."""
    with atomic_file(path, mode=mode, temp=temp) as fd:
        write_all(fd, data, 0)


@dataclass
class FileOps:
    """Positioned write, data sync and rename: the seam the store, the Drive and TLS write through.

    Tests pass their own calls in to count or fail them; the methods hand them to the
    functions above.
    """

    write: Callable[[int, bytes, int], int] = os.pwrite
    # fdatasync: a journal overwrites blocks it allocated beforehand, so its size
    # and block map don't change and there is no metadata to wait for.
    fsync: Callable[[int], None] = os.fdatasync
    replace: Callable[[Path, Path], None] = os.replace

    def write_all(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of data at offset, looping over short writes."""
        write_all(fd, data, offset, self.write)

    def fsync_dir(self, path: Path) -> None:
        """Make the entries of a folder (new or renamed files) """
        fsync_dir(path)

    def place(self, temp: Path, path: Path) -> None:
        """Rename a complete, synced file over path and make the rename """
        place(temp, path, replace=self.replace, sync_dir=self.fsync_dir)

    def atomic_file(self, path: Path, *, mode: int = 0o600,
                    temp: Path | None = None) -> AbstractContextManager[int]:
        """Open a temporary file that replaces path, synced, when the block ends."""
        return atomic_file(path, mode=mode, temp=temp, fsync=self.fsync,
                                   replace=self.replace, sync_dir=self.fsync_dir)

    def atomic_write(self, path: Path, data: bytes, *, mode: int = 0o600) -> None:
        """Replace path with data so that a crash leaves the old file or the whole new one."""
        with self.atomic_file(path, mode=mode) as fd:
            self.write_all(fd, data, 0)
