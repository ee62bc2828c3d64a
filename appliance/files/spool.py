"""An upload on its way: a temporary file filled from an async stream, hashed as it goes."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from appliance.files.folders import DriveFolders
from appliance.files.errors import TooLarge, disk_error
from appliance.files.tasks import Stopped, stoppable

logger = logging.getLogger(__name__)
BATCH = 1 << 20  # chunks are gathered into writes of at least this many bytes


class Spool:
    """A temporary file in tmp/ that is removed on leaving the `async with` unless kept.

    Batches are written in a thread while the next one is gathered, so reading
    the stream and writing the disk overlap; memory stays at about two batches.
    """

    def __init__(self, folders: DriveFolders) -> None:
        self._folders = folders
        self.path = folders.temp(".part")
        self.size = 0
        self.sha256 = ""
        self.kept = False
        self._what = "saving a file"
        self._hash = hashlib.sha256()
        self._fd = -1
        self._gone = False  # removed: a write still queued for a thread must not reopen it
        self._lock = threading.Lock()  # orders the threads' writes with closing and removal

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if not self.kept:
            # A thread may still be writing: removing waits for it, even if we are cancelled.
            await asyncio.shield(asyncio.to_thread(self._remove))
        self._folders.release(self.path)

    async def fill(self, chunks: AsyncIterator[bytes], what: str,
                   max_size: int | None = None) -> None:
        """Write the whole stream to the temporary file and sync it; NoSpace if the disk fills."""
        self._what = what
        await self._disk_call(self._open)
        buffer = bytearray()
        received = 0
        writing: asyncio.Future[None] | None = None
        async for chunk in chunks:
            buffer += chunk
            received += len(chunk)
            if max_size is not None and received > max_size:
                raise TooLarge(f"{what} failed: the file is larger than the {max_size:,} "
                               "bytes allowed here")
            if len(buffer) >= BATCH:
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(self._store(bytes(buffer)))
                buffer.clear()
        if writing is not None:
            await writing
        await self._store(bytes(buffer))
        await self._disk_call(self._finish)
        self.sha256 = self._hash.hexdigest()

    async def copy_from(self, real: Path, what: str) -> None:
        """Fill the temporary file with a copy of a file on the disk, synced."""
        try:
            self.sha256, st = await stoppable(
                lambda stop: self._folders.copy_file(real, self.path, stop))
        except OSError as exc:
            raise disk_error(exc, what) from exc
        self.size = st.st_size

    def keep(self) -> None:
        """Say the temporary file was moved into place, so it must not be removed."""
        self.kept = True

    async def _disk_call(self, work: Callable[..., None], *args: bytes) -> None:
        try:
            await asyncio.to_thread(work, *args)
        except OSError as exc:
            raise disk_error(exc, self._what) from exc

    def _open(self) -> None:
        self._folders.prepare()
        with self._lock:
            if not self._gone:
                self._fd = os.open(self.path,
                                   os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)

    async def _store(self, data: bytes) -> None:
        """Write a batch and hash it at the same time, in two threads.

        Both release the GIL: the SHA-256 of the ETag no longer adds its time
        to the write's (on the box, a core hashes while another writes).
        """
        await asyncio.gather(self._disk_call(self._append, data),
                             asyncio.to_thread(self._hash.update, data))

    def _append(self, data: bytes) -> None:
        with self._lock:
            self._folders.ops.write_all(self._check_open(), data, self.size)
            self.size += len(data)

    def _finish(self) -> None:
        with self._lock:
            self._folders.ops.fsync(self._check_open())
            self._close()

    def _check_open(self) -> int:
        if self._fd < 0:
            raise Stopped("the upload was abandoned")
        return self._fd

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _remove(self) -> None:
        with self._lock:
            self._gone = True
            self._close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError:
                logger.exception("could not remove the unfinished upload %s; the next rescan "
                                 "will", self.path)
