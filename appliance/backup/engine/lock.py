"""The repository lock: a file naming host, pid and time; a dead holder's lock is stale."""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from appliance.backup.engine.backuperrors import RepositoryLocked, explain

logger = logging.getLogger(__name__)

LOCK_NAME = "lock"
BACKUP = "backup"
PRUNE = "prune"
UNKNOWN = "?"
_BEING_WRITTEN = 10.0  # seconds an unreadable lock may be one that is being written


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int:
    """Return when a process started (clock ticks after boot), 0 if it doesn't exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[19])


@dataclass(frozen=True)
class LockInfo:
    """Who holds the repository, since when, and for what."""

    host: str
    pid: int
    time: float
    operation: str
    boot_id: str = ""
    started: int = 0

    @classmethod
    def mine(cls, operation: str) -> LockInfo:
        """Return the lock this process would write."""
        return cls(socket.gethostname(), os.getpid(), time.time(), operation, _boot_id(),
                   _start_ticks(os.getpid()))

    def is_stale(self) -> bool:
        """Tell whether the holder is gone: same host, and another boot or a dead process."""
        if self.host == UNKNOWN:
            return True
        if self.host != socket.gethostname():
            return False
        if self.boot_id and self.boot_id != _boot_id():
            return True
        return _start_ticks(self.pid) != self.started

    def describe(self) -> str:
        """Return a sentence naming the holder."""
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.time))
        return f"a {self.operation} by process {self.pid} on {self.host}, since {since}"


def read_lock(repo: Path) -> LockInfo | None:
    """Return the lock on a repository, or None."""
    path = repo / LOCK_NAME
    try:
        raw = path.read_bytes()
        return LockInfo(**json.loads(raw))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):  # being written, or half-written by a crash
        try:
            return LockInfo(UNKNOWN, 0, path.stat().st_mtime, UNKNOWN)
        except FileNotFoundError:
            return None


class RepositoryLock:
    """An exclusive lock on a repository, for the operations that write it."""

    def __init__(self, repo: Path, info: LockInfo) -> None:
        self.repo = repo
        self.info = info

    @classmethod
    def acquire(cls, repo: Path, operation: str) -> RepositoryLock:
        """Take the lock, clearing a stale one; raise RepositoryLocked if it is held."""
        path = repo / LOCK_NAME
        info = LockInfo.mine(operation)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                held = read_lock(repo)
                if held is None:
                    continue
                if held.host == UNKNOWN and time.time() - held.time < _BEING_WRITTEN:
                    time.sleep(0.1)
                    continue
                if not held.is_stale():
                    raise RepositoryLocked(
                        f"the backup repository {repo} is in use: {held.describe()}. Wait "
                        f"for it to end; if nothing runs there any more, delete {path}"
                    ) from None
                logger.warning("removing a stale lock of %s: %s has ended", repo,
                               held.describe())
                path.unlink(missing_ok=True)
                continue
            except OSError as exc:
                raise explain(exc, repo, "locking the repository") from None
            try:
                os.write(fd, json.dumps(asdict(info)).encode())
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                path.unlink(missing_ok=True)
                raise explain(exc, repo, "locking the repository") from None
            os.close(fd)
            return cls(repo, info)
        raise RepositoryLocked(f"couldn't lock the backup repository {repo}: other "
                               "processes keep taking it; try again")

    def release(self) -> None:
        """Remove the lock if it is still ours."""
        if read_lock(self.repo) == self.info:
            (self.repo / LOCK_NAME).unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def refuse_if_pruning(repo: Path) -> None:
    """Raise RepositoryLocked if a live prune is deleting data from the repository."""
    held = read_lock(repo)
    if held is not None and held.operation == PRUNE and not held.is_stale():
        raise RepositoryLocked(f"the backup repository {repo} is being pruned "
                               f"({held.describe()}); try again when it has finished")
