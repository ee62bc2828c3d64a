"""Readahead: ask the kernel for the next small files while the current one is processed.

Small files are read one after another, each with the latency of a cold read;
telling the kernel early (POSIX_FADV_WILLNEED) from a helper thread keeps the
disk busy while chunks are hashed, compressed and encrypted. At most WINDOW files
are asked for ahead of the one being read, so the page cache is never flooded.
"""
from __future__ import annotations

import os
import queue
import threading

WINDOW = 64
LARGEST = 1 << 20  # bigger files are read sequentially: the kernel reads ahead by itself


class Readahead:
    """A helper thread that hints the files a backup will read next."""

    def __init__(self) -> None:
        self._todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._slots = threading.Semaphore(WINDOW)
        self._asked: set[str] = set()
        self._thread: threading.Thread | None = None

    def ask(self, path: str, size: int) -> None:
        """Hint a file that will be read soon (small ones only)."""
        if 0 < size <= LARGEST:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="readahead", daemon=True)
                self._thread.start()
            self._asked.add(path)
            self._todo.put(path)

    def done(self, path: str) -> None:
        """Say that a file was read, freeing its place in the window."""
        if path in self._asked:
            self._asked.discard(path)
            self._slots.release()

    def _run(self) -> None:
        while (path := self._todo.get()) is not None:
            self._slots.acquire()
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:
                continue  # gone, or unreadable: the backup will say so
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Stop the thread."""
        if self._thread is None:
            return
        self._todo.put(None)
        for _ in range(len(self._asked)):
            self._slots.release()
        self._thread.join()
