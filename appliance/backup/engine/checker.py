"""check: the index against the packs, every snapshot's blobs, and on demand every byte."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import Unreadable
from appliance.backup.engine.index import ChunkIndex, PackRecord
from appliance.backup.engine.pack import read_directory
from appliance.backup.engine.repository import Repository, is_name, releasing_packs

logger = logging.getLogger(__name__)


@dataclass
class CheckReport:
    """What check looked at, what is damaged (and which files that touches), what is harmless."""

    snapshots: int = 0
    packs: int = 0
    blobs: int = 0
    bytes_read: int = 0
    damage: list[str] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)
    hurt: list[tuple[float, str]] = field(default_factory=list)  # (snapshot time, path)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether nothing is damaged."""
        return not self.damage


class Checker:
    """Checks a repository's structure and, with read_data, decrypts every blob."""

    def __init__(self, repo: Repository, *, read_data: bool = False,
                 progress: Callable[[CheckReport], None] | None = None) -> None:
        self.repo = repo
        self.read_data = read_data
        self.report = CheckReport()
        self._progress = progress
        self._bad: set[bytes] = set()
        self._memo: dict[str, tuple[str, ...]] = {}

    @releasing_packs
    def run(self) -> CheckReport:
        """Check the repository; return the report."""
        self.repo.check_readable()
        indexed: set[str] = set()
        for name in self.repo.index_names():  # one index file in memory at a time
            try:
                packs = self.repo.read_index(name)
            except Unreadable as exc:
                self.report.damage.append(f"index file {name} is damaged ({exc}): the packs "
                                          "it lists are unknown until it is rebuilt")
                continue
            for pack in packs:
                if pack.id.hex() not in indexed:
                    indexed.add(pack.id.hex())
                    self._check_pack(pack)
        on_disk = {p.name for p in (self.repo.path / "packs").glob("*/*") if is_name(p.name)}
        for name in sorted(on_disk - indexed):
            self.report.notes.append(f"pack {name} is in no index (left by an interrupted "
                                     "backup); `hearth backup prune` removes it")
        index = self.repo.load_index()
        for name in self.repo.snapshot_names():
            self._check_snapshot(index, name)
        return self.report

    def _check_pack(self, pack: PackRecord) -> None:
        self.report.packs += 1
        self.report.blobs += len(pack.entries)
        path = self.repo.pack_file(pack.id)
        name = pack.id.hex()
        if not path.exists():
            self.report.damage.append(f"pack {name} is missing ({len(pack.entries)} blobs)")
            self._bad.update(e.id for e in pack.entries)
            return
        try:
            kind, directory = read_directory(path, self.repo.cipher)
            if kind != pack.kind or sorted(directory, key=lambda e: e.id) != \
                    sorted(pack.entries, key=lambda e: e.id):
                self.report.damage.append(f"pack {name} doesn't hold what the index says")
        except Unreadable as exc:
            self.report.damage.append(f"pack {name}: its directory is damaged ({exc})")
        if self.read_data:
            self._read_pack(pack, path.read_bytes())

    def _read_pack(self, pack: PackRecord, data: bytes) -> None:
        self.report.bytes_read += len(data)
        bad = 0
        for entry in pack.entries:
            blob = data[entry.offset:entry.offset + entry.length]
            try:
                plain = self.repo.cipher.open(blob, entry.id)
                if self.repo.chunk_id(plain) != entry.id or len(plain) != entry.raw_length:
                    raise Unreadable("its content doesn't match its id")
            except Unreadable:
                bad += 1
                self._bad.add(entry.id)
        if bad:
            self.report.damage.append(f"pack {pack.id.hex()} is damaged: {bad} of "
                                      f"{len(pack.entries)} blobs can't be read")
        if self._progress is not None:
            self._progress(self.report)

    def _check_snapshot(self, index: ChunkIndex, name: str) -> None:
        self.report.snapshots += 1
        try:
            snapshot = self.repo.read_snapshot(name)
        except Unreadable as exc:
            self.report.damage.append(f"snapshot {name[:8]} is damaged ({exc})")
            return
        for path in self._bad_paths(index, snapshot.tree):
            self.report.hurt.append((snapshot.time, path))
            self.report.affected.append(f"snapshot {snapshot.short_id} ({snapshot.when}): "
                                        f"{path or '(everything)'}")

    def _bad_paths(self, index: ChunkIndex, tree_id: str) -> tuple[str, ...]:
        """Return the paths under a tree that can't be restored whole (memoised per tree)."""
        if tree_id in self._memo:
            return self._memo[tree_id]
        found: list[str] = []
        try:
            if bytes.fromhex(tree_id) in self._bad:
                raise Unreadable("damaged")
            entries = self.repo.read_tree(index, tree_id)
        except Unreadable as exc:
            self.report.damage.append(f"folder tree {tree_id[:16]} can't be read ({exc})")
            entries, found = [], [""]  # "" is the folder itself: "Photos/" in its parent
        for entry in entries:
            if entry["type"] == trees.DIR:
                found += [f"{entry['name']}/{p}" for p in self._bad_paths(index, entry["tree"])]
            elif entry["type"] == trees.FILE:
                ids = [bytes.fromhex(c) for c in entry["chunks"]]
                missing = sum(c not in index for c in ids)
                if missing:
                    self.report.damage.append(f"{entry['name']}: {missing} of its chunks are "
                                              "in no pack")
                if missing or any(c in self._bad for c in ids):
                    found.append(entry["name"])
        self._memo[tree_id] = result = tuple(found)
        return result
