"""Fixtures for the backup engine: a recovery key, a repository, a data folder to back up."""
from __future__ import annotations

import hashlib
import os
import random
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appliance.backup.engine import recovery
from appliance.backup.engine.cipher import AES_GCM, CHACHA
from appliance.backup.engine.pack import DATA, read_directory
from appliance.backup.engine.repository import Repository
from appliance.store import Store

DOCTYPE = "io.hearth.notes"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def key() -> str:
    """A recovery key (canonical form)."""
    return recovery.generate()


@pytest.fixture(params=[CHACHA, AES_GCM])
def repo(request: pytest.FixtureRequest, tmp_path: Path, key: str) -> Repository:
    """A new repository, with each of the two AEADs."""
    return Repository.init(tmp_path / "repo", key, request.param)


def make_data(root: Path, *, seed: int = 1, big: int = 3 << 20, small: int = 40,
              docs: int = 50) -> Path:
    """Make a Hearth data folder: files (small, big, empty, a link), trash, a store, system."""
    rng = random.Random(seed)
    files = root / "files"
    (files / "Photos" / "2024").mkdir(parents=True)
    (files / "Empty folder").mkdir()
    (files / "Photos" / "cat.jpg").write_bytes(rng.randbytes(big))
    (files / "notes.txt").write_text("meeting notes\n" * 5000)
    (files / "empty.txt").write_bytes(b"")
    for n in range(small):
        (files / "Photos" / "2024" / f"IMG_{n:04d}.txt").write_bytes(
            f"photo {n} ".encode() * rng.randint(1, 400))
    os.chmod(files / "notes.txt", 0o640)
    os.symlink("notes.txt", files / "link-to-notes")
    (root / "trash" / "abc").mkdir(parents=True)
    (root / "trash" / "abc" / "old.txt").write_text("thrown away")
    (root / "tmp").mkdir()
    (root / "tmp" / "files-1.part").write_text("an upload on its way")
    (root / "disk.json").write_text('{"instance": "x", "format": 1}')
    system = root / "system"
    (system / "standby").mkdir(parents=True)
    (system / "keyring").write_text("hearth-keyring/1 secret")
    (system / "tls").mkdir()
    (system / "tls" / "ca.pem").write_text("CA")
    with Store.open_sync(root / "store") as store:
        notes = store.collection_sync(DOCTYPE)
        notes.table.insert_multiple({"title": f"note {n}"} for n in range(docs))
    return root


def fingerprint(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return {relative path: (kind, mode, mtime_ns, sha256 or link target)} of a folder."""
    found: dict[str, Any] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel.startswith(skip) or name == ".lock":
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                content = path.read_bytes()
                if name == "journal.log":  # the store pre-allocates it with zeros
                    content = content.rstrip(b"\0")
                found[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns,
                              hashlib.sha256(content).hexdigest())
    return found


def packs(repo_path: Path) -> list[Path]:
    """Return the pack files of a repository."""
    return sorted(p for p in (repo_path / "packs").glob("*/*"))


def big_blob_pack(repo: Repository) -> tuple[Path, int]:
    """Return the data pack holding cat.jpg's chunks, and an offset inside one of them."""
    for path in packs(repo.path):
        kind, entries = read_directory(path, repo.cipher)
        big = [e for e in entries if e.raw_length > 512 << 10]
        if kind == DATA and big:
            return path, big[0].offset + big[0].length // 2
    raise AssertionError("no pack holds a big chunk")


def run_worker(repo: Path, data: Path, key: str) -> subprocess.Popen[bytes]:
    """Start a backup of data into repo in its own process (small packs), to kill or unplug."""
    return subprocess.Popen([sys.executable, "-m", "tests.backup.engine.worker", str(repo),
                             str(data), key, str(256 << 10)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
