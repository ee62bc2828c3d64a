"""Fixtures for the store tests: a store in a temporary folder, and file operations to spy on."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.durable import FileOps
from appliance.store import Collection, Store


class SpyOps(FileOps):
    """Real file operations that count fsyncs, remember what they made durable, and can fail."""

    def __init__(self) -> None:
        super().__init__(write=self._write, fsync=self._fsync, replace=self._replace)
        self.fsyncs = 0
        self.durable: dict[int, int] = {}
        self.fail_write: OSError | None = None
        self.fail_fsync: OSError | None = None
        self.fail_replace: OSError | None = None
        self.fsync_delay = 0.0
        self._lock = threading.Lock()

    def _write(self, fd: int, data: bytes, offset: int) -> int:
        if self.fail_write is not None:
            raise self.fail_write
        return os.pwrite(fd, data, offset)

    def _fsync(self, fd: int) -> None:
        if self.fail_fsync is not None:
            raise self.fail_fsync
        if self.fsync_delay:
            threading.Event().wait(self.fsync_delay)
        os.fdatasync(fd)
        # What is on disk now: up to the zeros a journal is grown with.
        content = Path(f"/proc/self/fd/{fd}").read_bytes().rstrip(b"\0")
        with self._lock:
            self.fsyncs += 1
            self.durable[os.fstat(fd).st_ino] = len(content)

    def _replace(self, src: Path, dst: Path) -> None:
        if self.fail_replace is not None:
            raise self.fail_replace
        os.replace(src, dst)

    def durable_size(self, path: Path) -> int:
        """Return how many bytes of path an fsync has covered so far."""
        with self._lock:
            return self.durable.get(path.stat().st_ino, 0)


DOCTYPE = "io.hearth.tests"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The store folder."""
    return tmp_path / "store"


@pytest.fixture
async def store(root: Path) -> AsyncIterator[Store]:
    """An open store, closed after the test."""
    opened = await Store.open(root)
    yield opened
    await opened.close()


@pytest.fixture
async def coll(store: Store) -> Collection:
    """An empty collection of the test doctype."""
    return await store.collection(DOCTYPE)
