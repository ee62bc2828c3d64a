"""A backup repository on disk: its config and keys, and reading and writing its objects."""
from __future__ import annotations

import functools
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from appliance.backup.engine import masterkey as keyfile
from appliance.backup.engine import backuptree as trees
from appliance.backup.engine.backuperrors import NO_BACKUP, BackupError, Unreadable, explain
from appliance.backup.engine.cipher import Cipher, choose_aead
from appliance.backup.engine.durability import write_atomic
from appliance.backup.engine.index import (
    ChunkIndex,
    PackRecord,
    decode_index,
    encode_index,
    validate_index,
)
from appliance.backup.engine.backupsnapshot import Snapshot
from appliance.backup.engine.lock import RepositoryLock, refuse_if_pruning
from appliance.backup.engine.masterkey import MasterKeys
from appliance.backup.engine.pack import pack_path, read_blob
from appliance.durable import fsync_dir

logger = logging.getLogger(__name__)

FORMAT = "hearth-backup/1"
CHUNKER = {"algorithm": "fastcdc-2020", "min": 256 << 10, "avg": 1 << 20, "max": 4 << 20}
FOLDERS = ("keys", "packs", "index", "snapshots", "tmp")
RECOVERY_KEY_FILE = "recovery.json"
_OPEN_PACKS = 32
P = ParamSpec("P")
T = TypeVar("T")


def index_context(name: str) -> bytes:
    """Return the associated data of an index file."""
    return b"hearth-backup/index\0" + bytes.fromhex(name)


def snapshot_context(name: str) -> bytes:
    """Return the associated data of a snapshot file."""
    return b"hearth-backup/snapshot\0" + bytes.fromhex(name)


def releasing_packs(method: Callable[P, T]) -> Callable[P, T]:
    """Close the packs an operation opened once it returns (so a disk can be unmounted)."""
    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        finally:
            cast(Any, args[0]).repo.close()
    return run


def is_name(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


class Repository:
    """An opened repository: its config, its keys, and access to its files."""

    def __init__(self, path: Path, config: dict[str, Any], master: MasterKeys) -> None:
        self.path = path
        self.config = config
        self.keys = master
        self.cipher = Cipher(config["aead"], master.encryption)
        self._fds: dict[bytes, int] = {}

    @classmethod
    def init(cls, path: Path, password: str, aead: str | None = None) -> Repository:
        """Create a repository in an empty (or new) folder, its keys wrapped by password."""
        if (path / "config").exists():
            raise BackupError(f"{path} is already a backup repository; use it as it is, or "
                              "pick another folder")
        if path.exists() and any(path.iterdir()):
            raise BackupError(f"{path} is not empty; pick an empty or new folder for the "
                              "backup repository")
        repo_id = uuid.uuid4().hex
        config = {"format": FORMAT, "id": repo_id, "created": time.time(),
                  "aead": aead or choose_aead(), "chunker": CHUNKER}
        master = MasterKeys.generate()
        try:
            path.mkdir(parents=True, exist_ok=True)
            for name in FOLDERS:
                (path / name).mkdir(exist_ok=True)
            fsync_dir(path)
        except OSError as exc:
            raise explain(exc, path, "creating the repository") from None
        wrapped = keyfile.wrap(master, password, repo_id)
        write_atomic(path / "keys" / RECOVERY_KEY_FILE, json.dumps(wrapped).encode(),
                     path / "tmp", doing="writing the key file")
        write_atomic(path / "config", json.dumps(config, indent=1).encode(), path / "tmp",
                     doing="writing the config")  # last: a folder with a config is complete
        logger.info("backup repository %s created (%s)", path, config["aead"])
        return cls(path, config, master)

    @classmethod
    def open(cls, path: Path, password: str) -> Repository:
        """Open a repository with its recovery key; WrongKey if the key doesn't open it."""
        try:
            config = json.loads((path / "config").read_bytes())
        except FileNotFoundError:
            raise BackupError(f"there is no backup repository at {path}: is the backup "
                              "disk plugged in and mounted? (`hearth backup init` makes one)",
                              code=NO_BACKUP) from None
        except (OSError, ValueError) as exc:
            raise BackupError(f"{path}/config can't be read ({exc}); the repository is "
                              "damaged there") from None
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise BackupError(f"{path} holds a backup format this Hearth doesn't know "
                              f"({config.get('format') if isinstance(config, dict) else '?'}); "
                              "update Hearth")
        key_files = sorted((path / "keys").glob("*.json"))
        if not key_files:
            raise BackupError(f"{path}/keys holds no key file: without it nobody can read "
                              "this repository")
        wrong: BackupError | None = None
        for key_file in key_files:
            try:
                master = keyfile.unwrap(json.loads(key_file.read_bytes()), password,
                                        config["id"], str(key_file))
                return cls(path, config, master)
            except BackupError as exc:
                wrong = exc
            except (OSError, ValueError) as exc:
                wrong = BackupError(f"{key_file} can't be read ({exc})")
        assert wrong is not None
        raise wrong

    def chunk_id(self, data: Any) -> bytes:
        """Return the keyed id of some data: HMAC-SHA-256 with the chunk-id key."""
        return hmac.digest(self.keys.chunk_id, data, "sha256")

    def lock(self, operation: str) -> RepositoryLock:
        """Take the repository's exclusive lock and clear what crashed runs left in tmp/."""
        held = RepositoryLock.acquire(self.path, operation)
        for leftover in (self.path / "tmp").iterdir():
            leftover.unlink(missing_ok=True)
        return held

    def check_readable(self) -> None:
        """Raise RepositoryLocked if a prune is deleting data right now."""
        refuse_if_pruning(self.path)

    # index files

    def index_names(self) -> list[str]:
        """Return the names of the index files."""
        return sorted(p.name for p in (self.path / "index").iterdir() if is_name(p.name))

    def index_plaintext(self, name: str) -> bytes:
        """Return the decrypted content of an index file; Unreadable if it is damaged."""
        sealed = (self.path / "index" / name).read_bytes()
        return self.cipher.open(sealed, index_context(name))

    def read_index(self, name: str) -> list[PackRecord]:
        """Return the packs an index file lists; Unreadable if it is damaged."""
        return list(decode_index(self.index_plaintext(name)))

    def write_index(self, packs: list[PackRecord]) -> str:
        """Write a new index file listing packs; return its name."""
        name = os.urandom(16).hex()
        sealed = self.cipher.seal(encode_index(packs), index_context(name))
        write_atomic(self.path / "index" / name, sealed, self.path / "tmp",
                     doing="writing an index file")
        return name

    def load_index(self, *, strict: bool = False) -> ChunkIndex:
        """Return the index of every blob the index files list.

        A damaged index file is skipped (its blobs are stored again by the next
        backup), or with `strict` raises Unreadable.
        """
        def plaintexts() -> Iterator[bytes]:
            for name in self.index_names():
                try:
                    data = self.index_plaintext(name)
                    validate_index(data)
                    yield data
                except Unreadable as exc:
                    if strict:
                        raise Unreadable(f"index file {name} is damaged ({exc})") from None
                    logger.error("index file %s is damaged (%s) and was skipped; run "
                                 "`hearth backup check`", name, exc)
        return ChunkIndex.build(plaintexts())

    # snapshots

    def snapshot_names(self) -> list[str]:
        """Return the ids of every snapshot file."""
        return sorted(p.name for p in (self.path / "snapshots").iterdir() if is_name(p.name))

    def read_snapshot(self, name: str) -> Snapshot:
        """Return one snapshot; Unreadable if its file is damaged."""
        sealed = (self.path / "snapshots" / name).read_bytes()
        return Snapshot.decode(name, self.cipher.open(sealed, snapshot_context(name)))

    def snapshots(self) -> list[Snapshot]:
        """Return the readable snapshots, oldest first."""
        found = []
        for name in self.snapshot_names():
            try:
                found.append(self.read_snapshot(name))
            except Unreadable as exc:
                logger.error("snapshot %s is damaged (%s); run `hearth backup check`", name, exc)
        return sorted(found, key=lambda s: s.time)

    def find_snapshot(self, ref: str | None) -> Snapshot:
        """Return the snapshot an id (or its first digits) names; the latest for None."""
        every = self.snapshots()
        if not every:
            raise BackupError(f"the repository {self.path} holds no snapshot yet; run "
                              "`hearth backup run` first")
        if ref in (None, "", "latest"):
            return every[-1]
        assert ref is not None
        matches = [s for s in every if s.id.startswith(ref.lower())]
        if len(matches) != 1:
            listed = "several" if matches else "no"
            raise BackupError(f"{listed} snapshot ids start with {ref!r}; see `hearth backup "
                              "list` and give more of the id")
        return matches[0]

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Write a snapshot file (last step of a backup: it makes the backup visible)."""
        sealed = self.cipher.seal(snapshot.encode(), snapshot_context(snapshot.id))
        write_atomic(self.path / "snapshots" / snapshot.id, sealed, self.path / "tmp",
                     doing="writing the snapshot")

    def delete_snapshot(self, name: str) -> None:
        """Remove a snapshot file (its data stays until prune reclaims it)."""
        try:
            (self.path / "snapshots" / name).unlink(missing_ok=True)
            fsync_dir(self.path / "snapshots")
        except OSError as exc:
            raise explain(exc, self.path, "removing a snapshot") from None

    # blobs

    def pack_file(self, pack_id: bytes) -> Path:
        """Return the path of a pack."""
        return pack_path(self.path / "packs", pack_id)

    def _fd(self, pack_id: bytes) -> int:
        fd = self._fds.get(pack_id)
        if fd is None:
            if len(self._fds) >= _OPEN_PACKS:
                os.close(self._fds.pop(next(iter(self._fds))))
            try:
                fd = self._fds[pack_id] = os.open(self.pack_file(pack_id), os.O_RDONLY)
            except FileNotFoundError:
                raise Unreadable(f"pack {pack_id.hex()} is missing") from None
        return fd

    def read_blob(self, index: ChunkIndex, blob_id: bytes) -> bytes:
        """Return a blob's data; Unreadable if it is missing or damaged."""
        where = index.get(blob_id)
        if where is None:
            raise Unreadable(f"blob {blob_id.hex()[:16]} is not in the index")
        try:
            sealed = read_blob(self._fd(where.pack), where.offset, where.length)
        except OSError as exc:
            raise Unreadable(f"pack {where.pack.hex()} can't be read: {exc.strerror}") from None
        try:
            return self.cipher.open(sealed, blob_id)
        except Unreadable as exc:
            raise Unreadable(f"pack {where.pack.hex()} is damaged ({exc})") from None

    def read_tree(self, index: ChunkIndex, tree_id: str) -> list[trees.Entry]:
        """Return the entries of a folder's tree blob; Unreadable if it is damaged."""
        return trees.decode(self.read_blob(index, bytes.fromhex(tree_id)))

    def close(self) -> None:
        """Close the packs kept open for reading."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
