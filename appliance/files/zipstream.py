"""A zip archive written as a stream: folders downloaded in one piece, no temporary file."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import zipfile
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.files import FileEntry, FileTree

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024  # bytes handed to the event loop at a time
AHEAD = 4           # chunks the writer may run ahead of the reader (memory: ~1 MiB)
# Media is compressed already; deflating it would only cost a Pi's CPU.
_DEFLATE = ("text/", "application/json", "application/xml", "image/svg+xml", "image/bmp")


@dataclass(frozen=True)
class ZipMember:
    """One entry of the archive: a file read from `source`, or a folder when source is None."""

    name: str                   # "Photos/2024/cat.jpg"; a folder's name ends with "/"
    source: Path | None
    mtime: float
    mime: str = "application/octet-stream"


class _Stopped(Exception):
    """The reader went away (the visitor closed the tab): stop writing."""


class _Pipe:
    """The file object zipfile writes to; it hands full chunks over to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]
                 ) -> None:
        self._loop = loop
        self._queue = queue
        self._buffer = bytearray()
        self.room = threading.Semaphore(AHEAD)
        self.stopped = threading.Event()

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buffer:
            self.send(bytes(self._buffer))
            self._buffer.clear()

    def close(self) -> None:
        self.flush()

    def send(self, item: bytes | None) -> None:
        while not self.room.acquire(timeout=0.2):
            if self.stopped.is_set():
                raise _Stopped()
        if self.stopped.is_set():
            raise _Stopped()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)


def _reals(tree: FileTree, files: list[FileEntry]) -> list[Path]:
    """Return where files are on disk (a few stat calls each: run in a thread)."""
    return [tree.real_path(e.path) for e in files]


async def folder_members(tree: FileTree, top: str, prefix: str = "") -> list[ZipMember]:
    """Return what a folder holds, all the way down, as zip members named prefix + path below it.

    Give prefix "Photos/" to have everything inside a Photos folder in the archive.
    """
    members: list[ZipMember] = []
    pending = [(top, prefix)]
    while pending:
        folder, inner = pending.pop()
        entries = await tree.list(folder)
        files = [e for e in entries if not e.is_dir]
        reals = await asyncio.to_thread(_reals, tree, files)
        members += [ZipMember(inner + e.name, real, e.updated_at, e.mime)
                    for e, real in zip(files, reals)]
        for e in entries:
            if e.is_dir:
                members.append(ZipMember(inner + e.name + "/", None, e.updated_at))
                pending.append((e.path, inner + e.name + "/"))
    return members


def _date_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    # Zip keeps local time from 1980 to 2107, to the even second.
    year, month, day, hour, minute, second = time.localtime(mtime)[:6]
    return (1980, 1, 1, 0, 0, 0) if year < 1980 else \
        (min(year, 2107), month, day, hour, minute, second)


def _write(members: Sequence[ZipMember], pipe: _Pipe) -> None:
    with zipfile.ZipFile(pipe, "w", allowZip64=True) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, _date_time(member.mtime))
            if member.source is None:
                info.external_attr = 0o40755 << 16 | 0x10
                archive.writestr(info, b"")
                continue
            info.external_attr = 0o644 << 16
            if member.mime.startswith(_DEFLATE):
                info.compress_type = zipfile.ZIP_DEFLATED
            try:
                source = member.source.open("rb")
            except OSError as exc:  # gone since it was listed: leave it out
                logger.warning("%s is left out of a zip: %s", member.name, exc)
                continue
            with source:
                info.file_size = source.seek(0, 2)
                source.seek(0)
                with archive.open(info, "w") as out:  # zip64 when the size calls for it
                    while block := source.read(CHUNK):
                        out.write(block)
    pipe.flush()


async def zip_stream(members: Sequence[ZipMember]) -> AsyncGenerator[bytes, None]:
    """Yield a zip archive of `members`, written in a thread while the caller sends it.

    Memory stays at a few chunks whatever the size; when the caller stops early
    (a visitor cancels the download), the writing thread stops too.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    pipe = _Pipe(loop, queue)

    def work() -> None:
        try:
            _write(members, pipe)
        except _Stopped:
            return
        finally:
            if not pipe.stopped.is_set():  # the end marker never waits for room
                loop.call_soon_threadsafe(queue.put_nowait, None)

    writer = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        while (chunk := await queue.get()) is not None:
            pipe.room.release()
            yield chunk
        await writer  # raises what went wrong in the thread, if anything
    finally:
        pipe.stopped.set()
        if not writer.done():
            await asyncio.wait([writer])
