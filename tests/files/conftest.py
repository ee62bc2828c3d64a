"""Fixtures for the file tree: a data folder, a real store, and helpers to look at the disk."""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from appliance.files import DOCTYPE, INDEXES, FileTree
from appliance.store import Collection, Store


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The data folder (files/, tmp/, trash/ appear in it)."""
    return tmp_path / "data"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real store, closed after the test."""
    opened = await Store.open(tmp_path / "store")
    yield opened
    await opened.close()


@pytest.fixture
async def coll(store: Store) -> Collection:
    """The io.hearth.files collection, declared as the core declares it."""
    return await store.collection(DOCTYPE, indexes=INDEXES)


@pytest.fixture
def tree(data: Path, coll: Collection) -> FileTree:
    """A file tree over the data folder."""
    return FileTree(data, coll)


async def stream(*parts: bytes) -> AsyncIterator[bytes]:
    """Yield the given chunks, as an upload would."""
    for part in parts:
        yield part


def sha(data: bytes) -> str:
    """Return the sha256 of data in hex."""
    return hashlib.sha256(data).hexdigest()


def on_disk(data: Path) -> set[str]:
    """Return every path under files/ (relative, "/"-separated), folders included."""
    root = data / "files"
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} if root.exists() else set()


def leftovers(data: Path) -> list[str]:
    """Return what is in tmp/ (nothing, once every upload has finished)."""
    tmp = data / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def paths(docs: Iterable[dict[str, object]]) -> set[object]:
    """Return the path of each document."""
    return {d["path"] for d in docs}
