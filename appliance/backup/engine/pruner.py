"""prune: forget snapshots by policy, then reclaim the packs no snapshot needs any more."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import BackupError, Unreadable, explain
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.index import ChunkIndex, PackRecord
from appliance.backup.engine.lock import PRUNE
from appliance.backup.engine.pack import BlobEntry, PackWriter, read_blob
from appliance.backup.engine.packer import INDEX_EVERY, PACK_SIZE
from appliance.backup.engine.repository import Repository, is_name, releasing_packs
from appliance.backup.engine.retention import Policy, select
from appliance.durable import fsync_dir

logger = logging.getLogger(__name__)

REWRITE_ABOVE = 0.2  # a pack more than 20 % unused is rewritten with what is still used


@dataclass
class PruneReport:
    """What prune removed and freed."""

    kept: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    packs_deleted: int = 0
    packs_rewritten: int = 0
    bytes_freed: int = 0


class Pruner:
    """Applies a retention policy to a repository and frees the space it can."""

    def __init__(self, repo: Repository, policy: Policy, *, dry_run: bool = False) -> None:
        self.repo = repo
        self.policy = policy
        self.dry_run = dry_run
        self.report = PruneReport()
        self._writers: dict[int, PackWriter] = {}
        self._new_index: list[str] = []

    @releasing_packs
    def run(self) -> PruneReport:
        """Forget the snapshots the policy drops, then reclaim space (unless a dry run)."""
        with self.repo.lock(PRUNE):
            kept, dropped = select(self.repo.snapshots(), self.policy)
            self.report.kept = [s.short_id for s in kept]
            self.report.forgotten = [s.short_id for s in dropped]
            if self.dry_run:
                return self.report
            for snapshot in dropped:
                self.repo.delete_snapshot(snapshot.id)
            try:
                self._reclaim(kept)
            except OSError as exc:
                raise explain(exc, self.repo.path, "pruning") from None
            except Unreadable as exc:
                raise BackupError(f"prune stopped: {exc}; the repository is unchanged but "
                                  "for the forgotten snapshots. Run `hearth backup check "
                                  "--read-data`") from None
            finally:
                for writer in self._writers.values():
                    writer.abort()
        return self.report

    def _reclaim(self, kept: list[Snapshot]) -> None:
        names = self.repo.index_names()
        index = self.repo.load_index(strict=True)
        used = self._mark(index, kept)
        survivors: list[PackRecord] = []
        seen: set[bytes] = set()
        for name in names:  # one old index file in memory at a time
            for pack in self.repo.read_index(name):
                if pack.id in seen:
                    continue
                seen.add(pack.id)
                number = index.add_pack(pack.id, pack.kind)
                alive = [e for e in pack.entries if self._is_used(index, used, number, e)]
                total = sum(e.length for e in pack.entries)
                if alive and total - sum(e.length for e in alive) > REWRITE_ABOVE * total:
                    survivors += self._rewrite(pack, alive)
                elif alive:
                    survivors.append(pack)
                if len(survivors) >= INDEX_EVERY:
                    self._index(survivors)
        survivors += self._close_writers()
        self._index(survivors)
        for name in names:  # only now: until here the old index files still hold everything
            (self.repo.path / "index" / name).unlink()
        fsync_dir(self.repo.path / "index")
        self._delete_unindexed()

    def _index(self, survivors: list[PackRecord]) -> None:
        if survivors:
            self._new_index.append(self.repo.write_index(survivors))
            survivors.clear()

    def _mark(self, index: ChunkIndex, kept: list[Snapshot]) -> bytearray:
        used = bytearray(len(index))
        seen: set[str] = set()
        todo = [s.tree for s in kept]
        while todo:
            tree_id = todo.pop()
            if tree_id in seen:
                continue
            seen.add(tree_id)
            ids = [tree_id]
            try:
                entries = self.repo.read_tree(index, tree_id)
            except Unreadable as exc:
                raise BackupError(f"a folder of a kept snapshot can't be read ({exc}); "
                                  "nothing was reclaimed. Run `hearth backup check`") from None
            for entry in entries:
                if entry["type"] == trees.DIR:
                    todo.append(entry["tree"])
                elif entry["type"] == trees.FILE:
                    ids += entry["chunks"]
            for blob in ids:
                at = index.position(bytes.fromhex(blob))
                if at is None:
                    raise BackupError("a kept snapshot needs a blob that is in no pack; "
                                      "nothing was reclaimed. Run `hearth backup check`")
                used[at] = 1
        return used

    @staticmethod
    def _is_used(index: ChunkIndex, used: bytearray, number: int, entry: BlobEntry) -> bool:
        at = index.position(entry.id)
        if at is None or not used[at]:
            return False
        _, pack, offset, _ = index.record(at)  # a blob stored twice is kept where it was marked
        return pack == number and offset == entry.offset

    def _rewrite(self, pack: PackRecord, alive: list[BlobEntry]) -> list[PackRecord]:
        """Copy a sparse pack's live blobs into new packs (they move without re-sealing)."""
        written = []
        with open(self.repo.pack_file(pack.id), "rb") as fh:
            for entry in alive:
                writer = self._writers.get(pack.kind)
                if writer is None:
                    writer = self._writers[pack.kind] = PackWriter(
                        self.repo.path / "tmp", pack.kind, self.repo.cipher)
                writer.add(entry.id, read_blob(fh.fileno(), entry.offset, entry.length),
                           entry.raw_length)
                if writer.size >= PACK_SIZE:
                    written.append(self._install(pack.kind))
        self.report.packs_rewritten += 1
        return written

    def _install(self, kind: int) -> PackRecord:
        writer = self._writers.pop(kind)
        writer.seal()
        writer.install(self.repo.path / "packs")
        self.report.bytes_freed -= writer.size
        return PackRecord(writer.id, writer.kind, writer.entries)

    def _close_writers(self) -> list[PackRecord]:
        return [self._install(kind) for kind in list(self._writers)]

    def _delete_unindexed(self) -> None:
        indexed = {pack.id.hex() for name in self._new_index for pack in
                   self.repo.read_index(name)}
        for path in sorted((self.repo.path / "packs").glob("*/*")):
            if is_name(path.name) and path.name not in indexed:
                self.report.bytes_freed += path.stat().st_size
                path.unlink()
                self.report.packs_deleted += 1
        for folder in (self.repo.path / "packs").iterdir():
            fsync_dir(folder)
        self.report.packs_deleted -= self.report.packs_rewritten
