"""The folders of the file tree on the data disk, and the blocking calls that change them."""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from appliance.files.entry import FILE, FOLDER, kind_of
from appliance.files.errors import InvalidName, NotADirectory, NotFound
from appliance.files.names import check_name, is_junk, parts
from appliance.files.tasks import Stopped
from appliance.durable import FileOps

logger = logging.getLogger(__name__)
BLOCK = 1 << 20  # bytes read or written per system call when copying or hashing
STALE = 3600.0  # seconds without a write after which a temporary file is abandoned


# The same folders are listed again and again (sync clients): their names were checked.
_known_name = functools.lru_cache(maxsize=4096)(check_name)


class Found(NamedTuple):
    """An entry of a folder on disk: its name in NFC, its stat, where it really is."""

    name: str
    st: os.stat_result
    at: str  # its path on disk, as spelled there

    @property
    def real(self) -> Path:
        """Return where it really is (made when asked: listings seldom need it)."""
        return Path(self.at)


@dataclass(frozen=True)
class Listing:
    """What a folder holds on disk, and how many entries were left out (links, bad names)."""

    found: list[Found]
    skipped: list[Path]


class Copied(NamedTuple):
    """One item of a copied folder: its names below the copy's top, kind, stat and hash."""

    names: tuple[str, ...]
    kind: str
    st: os.stat_result
    sha256: str | None


class DriveFolders:
    """The Drive's folders on the data disk: files/ (the owner's), tmp/ (uploads in progress)
    and trash/ under the data folder, and the blocking calls that change them."""

    def __init__(self, data_dir: Path, ops: FileOps) -> None:
        self.files = data_dir / "files"
        self.tmp = data_dir / "tmp"
        self.trash = data_dir / "trash"
        self.ops = ops
        self.busy: set[str] = set()  # temporary names in use, spared by sweep()
        self._ready = False

    def prepare(self) -> None:
        """Create the three folders if they are missing (checked once)."""
        if not self._ready:
            for folder in (self.files, self.tmp, self.trash):
                folder.mkdir(parents=True, exist_ok=True)
            self._ready = True

    def temp(self, suffix: str) -> Path:
        """Return a fresh temporary path in tmp/, marked busy until release()."""
        name = f"files-{uuid.uuid4().hex}{suffix}"
        self.busy.add(name)
        return self.tmp / name

    def release(self, temp: Path) -> None:
        """Let sweep() remove a temporary path again."""
        self.busy.discard(temp.name)

    def locate(self, path: str) -> tuple[Path, os.stat_result]:
        """Return where a checked path is on disk and its stat; links are never followed."""
        self.prepare()
        real, st = self.files, os.stat(self.files)
        for name in parts(path):
            if kind_of(st) != FOLDER:
                raise NotADirectory(f"{real.name!r} is a file, not a folder, so "
                                    f"{path!r} can't exist")
            real, found = self.child(real, name)
            if found is None:
                raise NotFound(f"{path!r} doesn't exist (was it moved or deleted?); "
                               "reload the folder")
            st = found
        return real, st

    def fetch(self, path: str, limit: int) -> tuple[Path, os.stat_result, bytes | None]:
        """Return locate(path) and, for a file of at most limit bytes, its content.

        The stat returned is the one of the content read. The content is None
        for a folder, a larger file, or one that changed or went while it was read.
        """
        real, st = self.locate(path)
        if kind_of(st) != FILE or st.st_size > limit:
            return real, st, None
        try:
            fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return real, st, None  # gone or replaced meanwhile: the caller's usual path says so
        try:
            before = os.fstat(fd)
            content = os.read(fd, limit + 1)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        same = (before.st_ino, before.st_size, before.st_mtime_ns) == \
            (after.st_ino, after.st_size, after.st_mtime_ns)
        if kind_of(after) != FILE or not same or len(content) != after.st_size:
            return real, st, None
        return real, after, content

    def child(self, folder: Path, name: str) -> tuple[Path, os.stat_result | None]:
        """Return the path of `name` in a folder (its NFD spelling if that is what exists)."""
        try:
            st = os.lstat(folder / name)
        except FileNotFoundError:
            for found in self.listing(folder).found:
                if found.name == name:
                    return found.real, found.st
            return folder / name, None
        except NotADirectoryError:
            raise NotADirectory(f"{folder.name!r} is a file, not a folder") from None
        return folder / name, st if kind_of(st) else None

    def listing(self, folder: Path) -> Listing:
        """Return the files and folders in a folder, in NFC, without links or bad names."""
        found: dict[str, Found] = {}
        skipped: list[Path] = []
        with os.scandir(folder) as entries:
            for item in entries:
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:  # removed while we looked
                    continue
                try:
                    name = _known_name(item.name)
                except InvalidName:
                    name = ""
                # Of two spellings of one name (NFC and NFD), the NFC one is the file.
                if not name or not kind_of(st) or (name in found and name != item.name):
                    skipped.append(Path(item.path))
                    continue
                if name in found:
                    skipped.append(found[name].real)
                found[name] = Found(name, st, item.path)
        return Listing(list(found.values()), skipped)

    def place(self, temp: Path, target: Path) -> os.stat_result:
        """Move a complete, synced temporary file over target and make that durable."""
        self.ops.place(temp, target)
        return os.stat(target)

    def rename(self, src: Path, dst: Path) -> os.stat_result:
        """Rename a file or folder (never over an existing folder) and make that durable."""
        os.rename(src, dst)
        self.ops.fsync_dir(dst.parent)
        if src.parent != dst.parent:
            self.ops.fsync_dir(src.parent)
        return os.lstat(dst)

    def mkdir(self, real: Path) -> os.stat_result:
        """Create a folder and make that durable."""
        os.mkdir(real)
        self.ops.fsync_dir(real.parent)
        return os.lstat(real)

    def discard(self, real: Path) -> Path:
        """Move a file or folder out of sight into tmp/ at once; remove() deletes it later."""
        gone = self.temp(".gone")
        self.rename(real, gone)
        return gone

    def remove(self, real: Path) -> None:
        """Delete a file or a folder with everything in it, if it is there."""
        try:
            if os.path.isdir(real) and not os.path.islink(real):
                shutil.rmtree(real)
            else:
                os.unlink(real)
        except FileNotFoundError:
            pass
        finally:
            self.release(real)

    def sweep(self) -> int:
        """Delete what interrupted uploads, copies and deletions left in tmp/; return how many.

        Only what no upload of ours is using and nothing wrote to for STALE
        seconds: a second FileTree on the same folder (which should not exist)
        keeps its uploads.
        """
        count = 0
        limit = time.time() - STALE
        for item in os.scandir(self.tmp):
            if (item.name.startswith("files-") and item.name not in self.busy
                    and item.stat(follow_symlinks=False).st_mtime < limit):
                self.remove(Path(item.path))
                count += 1
        return count

    def space(self) -> tuple[int, int]:
        """Return (free bytes, total bytes) of the data disk."""
        self.prepare()
        vfs = os.statvfs(self.files)
        return vfs.f_bavail * vfs.f_frsize, vfs.f_blocks * vfs.f_frsize

    def hash_file(self, real: Path, stop: threading.Event) -> tuple[str, os.stat_result]:
        """Return the sha256 of a file and its stat as it was when reading began."""
        fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            return _pump(fd, None, stop, self.ops), st
        finally:
            os.close(fd)

    def hash_files(self, reals: Sequence[Path], stop: threading.Event
                   ) -> list[tuple[str, os.stat_result] | None]:
        """Return hash_file of each file, or None for one that can't be read."""
        hashes: list[tuple[str, os.stat_result] | None] = []
        for real in reals:
            try:
                hashes.append(self.hash_file(real, stop))
            except OSError as exc:
                logger.warning("could not read %s to hash it: %s", real, exc.strerror)
                hashes.append(None)
        return hashes

    def copy_file(self, src: Path, dst: Path, stop: threading.Event) -> tuple[str, os.stat_result]:
        """Copy a file to a new path, synced; return the sha256 of what was copied and its stat."""
        self.prepare()
        fd_in = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                sha = _pump(fd_in, fd_out, stop, self.ops)
                self.ops.fsync(fd_out)
                return sha, os.fstat(fd_out)
            finally:
                os.close(fd_out)
        finally:
            os.close(fd_in)

    def copy_tree(self, src: Path, dst: Path, stop: threading.Event) -> list[Copied]:
        """Copy a folder to a new path (links and junk left out); return what was copied."""
        self.prepare()
        copied = [Copied((), FOLDER, self.mkdir(dst), None)]
        for names, real, st in _walk(self, src):
            target = dst.joinpath(*names)
            if kind_of(st) == FOLDER:
                copied.append(Copied(names, FOLDER, self.mkdir(target), None))
            else:
                sha, new = self.copy_file(real, target, stop)
                copied.append(Copied(names, FILE, new, sha))
        self.ops.fsync_dir(dst)
        return copied


def _walk(folders: DriveFolders, top: Path
          ) -> Iterator[tuple[tuple[str, ...], Path, os.stat_result]]:
    """Yield (names below top, real path, stat) for a folder's content, parents first."""
    stack: list[tuple[tuple[str, ...], Path]] = [((), top)]
    while stack:
        above, folder = stack.pop()
        for found in folders.listing(folder).found:
            if is_junk(found.name):
                continue
            names = (*above, found.name)
            yield names, found.real, found.st
            if kind_of(found.st) == FOLDER:
                stack.append((names, found.real))


def _pump(fd_in: int, fd_out: int | None, stop: threading.Event, ops: FileOps) -> str:
    """Read fd_in to its end, hashing, writing to fd_out if given; return the sha256."""
    digest = hashlib.sha256()
    offset = 0
    while block := os.read(fd_in, BLOCK):
        if stop.is_set():
            raise Stopped()
        digest.update(block)
        if fd_out is not None:
            ops.write_all(fd_out, block, offset)
        offset += len(block)
    return digest.hexdigest()

