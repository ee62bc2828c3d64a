"""A backup run: walk the data folder (the store copied consistently), store what changed."""
from __future__ import annotations

import logging
import os
import socket
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


from appliance import __version__
from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import BackupError, Unreadable
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.compression import PACKED_SUFFIXES
from appliance.backup.engine.index import ChunkIndex
from appliance.backup.engine.lock import BACKUP
from appliance.backup.engine.pack import TREE
from appliance.backup.engine.packer import INDEX_EVERY, PACK_SIZE, Packer, Stats
from appliance.backup.engine.readahead import Readahead
from appliance.backup.engine.repository import Repository, releasing_packs
from appliance.backup.engine.storecopy import read_collection
from appliance.store.folder import JOURNAL, SNAPSHOT

logger = logging.getLogger(__name__)

DATA_SKIPPED = frozenset({"tmp", "system"})  # uploads on their way; system/ comes apart
SYSTEM_SKIPPED = frozenset({"standby", "datadisk.json"})  # tied to this box's disks
STORE = "store"
COLLECTION_SKIPPED = frozenset({SNAPSHOT, JOURNAL, SNAPSHOT + ".tmp"})
Progress = Callable[[Stats], None]
Visit = Callable[[Path, str, "trees.Entry | None"], "trees.Entry | None"]
_PROGRESS_EVERY = 0.5


@dataclass(frozen=True)
class Sources:
    """What a backup takes: a data folder and, if given, the system folder (keys)."""

    data: Path
    system: Path | None = None


class Archiver:
    """Makes one snapshot of the sources into a repository."""

    def __init__(self, repo: Repository, sources: Sources, *, progress: Progress | None = None,
                 pack_size: int = PACK_SIZE, index_every: int = INDEX_EVERY) -> None:
        self.repo = repo
        self.sources = sources
        self.stats = Stats()
        self._progress = progress
        self._pack_size = pack_size
        self._index_every = index_every
        self._told = 0.0
        from pyfastcdc.cy import FastCDC  # compiled; loaded when a backup runs, not at start

        chunker = repo.config["chunker"]
        self._min = int(chunker["min"])
        self._cdc = FastCDC(int(chunker["avg"]), min_size=self._min,
                            max_size=int(chunker["max"]), seed=repo.keys.chunker_seed)
        self._index = ChunkIndex()
        self._packer: Packer | None = None
        self._readahead = Readahead()

    @releasing_packs
    def run(self) -> Snapshot:
        """Back the sources up; return the new snapshot."""
        data = self.sources.data
        if not data.is_dir():
            raise BackupError(f"there is no data folder at {data}; give the right one "
                              "with --data")
        if self.repo.path.resolve().is_relative_to(data.resolve()):
            raise BackupError(f"the repository {self.repo.path} is inside the data folder "
                              f"{data}: put it on another disk")
        started = time.time()
        with self.repo.lock(BACKUP):
            self._index = self.repo.load_index()
            parent = self._parent()
            self._packer = Packer(self.repo, self._index, self.stats, pack_size=self._pack_size,
                                  index_every=self._index_every)
            self._readahead = Readahead()
            try:
                root = self._root(self._entries_of(parent.tree) if parent else None)
                self._packer.flush()
            except BaseException:
                self._packer.abort()
                raise
            finally:
                self._readahead.close()
            self._packer.close()
            snapshot = Snapshot(
                id=os.urandom(16).hex(), time=started, host=socket.gethostname(), tree=root,
                sources={k: str(v) for k, v in asdict(self.sources).items() if v},
                stats=asdict(self.stats), parent=parent.id if parent else None,
                hearth=__version__)
            self.repo.save_snapshot(snapshot)
        logger.info("snapshot %s: %d files, %d new bytes stored", snapshot.short_id,
                    self.stats.files, self.stats.stored_bytes)
        return snapshot

    def _parent(self) -> Snapshot | None:
        every = self.repo.snapshots()
        return every[-1] if every else None

    def _entries_of(self, tree_id: str) -> list[trees.Entry] | None:
        try:
            return self.repo.read_tree(self._index, tree_id)
        except Unreadable as exc:
            logger.warning("a folder of the last snapshot can't be read (%s): its files "
                           "are read again", exc)
            return None

    def _before(self, prev: trees.Entry | None) -> list[trees.Entry] | None:
        if prev is None or prev["type"] != trees.DIR:
            return None
        return self._entries_of(prev["tree"])

    def _save_tree(self, entries: list[trees.Entry]) -> str:
        assert self._packer is not None
        self.stats.folders += 1
        return self._packer.save(trees.encode(entries), TREE).hex()

    def _listing(self, path: Path, skipped: frozenset[str]) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(path) as found:
                items = [item for item in found if item.name not in skipped]
        except OSError as exc:
            logger.warning("%s can't be listed (%s); it is left out", path, exc.strerror)
            self.stats.skipped += 1
            return []
        readable = []
        for item in items:
            try:
                item.name.encode("utf-8")
                readable.append(item)
            except UnicodeEncodeError:
                logger.warning("%r in %s isn't valid UTF-8; it is left out", item.name, path)
                self.stats.skipped += 1
        return sorted(readable, key=lambda item: item.name)

    def _root(self, before: list[trees.Entry] | None) -> str:
        extra = []
        system = self.sources.system
        if system is not None and system.is_dir():
            prev = next((e for e in before or () if e["name"] == "system"), None)
            tree = self._folder(system, self._before(prev), SYSTEM_SKIPPED)
            extra.append(trees.dir_entry("system", system.stat(), tree))

        def store_or_folder(path: Path, name: str, prev: trees.Entry | None
                            ) -> trees.Entry | None:
            return self._store(path, prev) if name == STORE else self._entry(path, name, prev)
        return self._folder(self.sources.data, before, DATA_SKIPPED, store_or_folder, extra)

    def _folder(self, path: Path, before: list[trees.Entry] | None,
                skipped: frozenset[str] = frozenset(), subfolder: Visit | None = None,
                extra: Iterable[trees.Entry] = ()) -> str:
        """Store a folder's entries (subfolders through `subfolder` if given); return its tree."""
        prev = {e["name"]: e for e in before or ()}
        entries = list(extra)
        listing = self._listing(path, skipped)
        for item in listing:
            if item.is_file(follow_symlinks=False):
                st = item.stat(follow_symlinks=False)
                if not trees.unchanged(prev.get(item.name), st):
                    self._readahead.ask(item.path, st.st_size)
        for item in listing:
            visit = subfolder if subfolder and item.is_dir(follow_symlinks=False) else self._entry
            entry = visit(Path(item.path), item.name, prev.get(item.name))
            if entry is not None:
                entries.append(entry)
        return self._save_tree(entries)

    def _entry(self, path: Path, name: str, prev: trees.Entry | None) -> trees.Entry | None:
        try:
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                return trees.dir_entry(name, st, self._folder(path, self._before(prev)))
            if stat.S_ISREG(st.st_mode):
                return self._file(path, name, st, prev)
            if stat.S_ISLNK(st.st_mode):
                return trees.symlink_entry(name, st, os.readlink(path))
        except FileNotFoundError:
            return None  # deleted while the backup ran
        except OSError as exc:
            logger.warning("%s can't be read (%s); it is left out", path, exc.strerror)
        self.stats.skipped += 1  # a FIFO, a device, a socket, or unreadable
        return None

    def _file(self, path: Path, name: str, st: os.stat_result,
              prev: trees.Entry | None) -> trees.Entry | None:
        self.stats.files += 1
        if trees.unchanged(prev, st) and prev is not None and \
                all(bytes.fromhex(c) in self._index for c in prev["chunks"]):
            self.stats.unchanged_files += 1
            self.stats.bytes += st.st_size
            return prev
        compress = path.suffix.lower().lstrip(".") not in PACKED_SUFFIXES
        self._readahead.done(str(path))
        for attempt in range(2):
            with open(path, "rb", buffering=0) as fh:
                before = os.fstat(fh.fileno())
                chunks, size = self._chunks(fh, before.st_size, compress)
                after = os.fstat(fh.fileno())
            if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
                break
            if attempt:
                logger.warning("%s kept changing while it was read; the copy may mix two "
                               "versions", path)
        self.stats.bytes += size
        return trees.file_entry(name, before, chunks, size)

    def _chunks(self, fh: IO[bytes], size_hint: int, compress: bool) -> tuple[list[str], int]:
        if size_hint <= self._min:
            data = fh.read()
            return self._save_all([data] if data else [], compress)
        return self._save_all((chunk.data for chunk in self._cdc.cut_stream(fh)), compress)

    def _save_all(self, pieces: Iterable[Any], compress: bool) -> tuple[list[str], int]:
        assert self._packer is not None
        save = self._packer.save
        ids, size = [], 0
        for piece in pieces:
            ids.append(save(piece, compress=compress).hex())
            size += len(piece)
            self._tick()
        return ids, size

    def _store(self, path: Path, prev: trees.Entry | None) -> trees.Entry:
        tree = self._folder(path, self._before(prev), frozenset({".lock"}), self._collection)
        return trees.dir_entry(STORE, os.lstat(path), tree)

    def _collection(self, path: Path, name: str, prev: trees.Entry | None) -> trees.Entry:
        """Store a collection folder, its snapshot and journal as one consistent copy."""
        entries = []
        copy = read_collection(path)
        if copy is not None:
            try:
                with open(os.dup(copy.snapshot_fd), "rb", buffering=0) as fh:
                    fh.seek(0)
                    chunks, size = self._chunks(fh, copy.snapshot_stat.st_size, True)
                entries.append(trees.file_entry(SNAPSHOT, copy.snapshot_stat, chunks, size))
                journal = copy.journal
                if copy.journal_stat is not None:
                    pieces = [c.data for c in self._cdc.cut_buf(journal)] \
                        if len(journal) > self._min else [journal] if journal else []
                    chunks, _ = self._save_all(pieces, True)
                    entries.append(trees.file_entry(JOURNAL, copy.journal_stat, chunks,
                                                    len(journal)))
                self.stats.files += len(entries)
                self.stats.bytes += size + len(journal)
            finally:
                copy.close()
        tree = self._folder(path, self._before(prev), COLLECTION_SKIPPED, extra=entries)
        return trees.dir_entry(name, os.lstat(path), tree)

    def _tick(self) -> None:
        if self._progress is not None and time.monotonic() - self._told > _PROGRESS_EVERY:
            self._told = time.monotonic()
            self._progress(self.stats)
