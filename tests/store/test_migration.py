"""Schema versions: migrations run once, atomically, and a newer store is never downgraded."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appliance.store import Store, StoreError
from appliance.store.folder import JOURNAL, SNAPSHOT
from tests.store.conftest import DOCTYPE, SpyOps
from tests.store.worker import DOCTYPE as WORKER_DOCTYPE

REPO = Path(__file__).resolve().parents[2]


def split_name(doc: dict[str, Any]) -> dict[str, Any]:
    first, _, last = doc.pop("name").partition(" ")
    return {**doc, "first": first, "last": last}


def add_initials(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "initials": doc["first"][:1] + doc["last"][:1]}


MIGRATIONS = [split_name, add_initials]


async def make_v0(root: Path) -> list[dict[str, Any]]:
    """A version-0 collection with documents in both the snapshot and the journal."""
    async with await Store.open(root, compact_at=1) as store:
        coll = await store.collection(DOCTYPE)
        first = await coll.create({"name": "Ada Lovelace"})
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        second = await coll.create({"name": "Alan Turing"})
        first = await coll.put({**first, "name": "Ada King"})
    assert (root / DOCTYPE / JOURNAL).stat().st_size > 0
    return [first, second]


def header(root: Path, doctype: str = DOCTYPE) -> dict[str, Any]:
    return dict(json.loads((root / doctype / SNAPSHOT).read_bytes()[:256]))


async def test_migrations_upgrade_every_document_once(root: Path) -> None:
    before = await make_v0(root)
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
        docs = {d["_id"]: d for d in coll.all()}
    assert {(d["first"], d["last"], d["initials"]) for d in docs.values()} == {
        ("Ada", "King", "AK"), ("Alan", "Turing", "AT")}
    for old in before:
        new = docs[old["_id"]]
        assert "name" not in new
        assert int(new["_rev"].split("-")[0]) == int(old["_rev"].split("-")[0]) + 1
    assert header(root)["version"] == 2
    assert (root / DOCTYPE / JOURNAL).stat().st_size == 0

    def never(doc: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("migrated twice")
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE, version=2, migrations=[never, never])
        assert {d["_id"]: d for d in coll.all()} == docs


async def test_new_collection_starts_at_its_declared_version(root: Path) -> None:
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
        await coll.create({"first": "Grace", "last": "Hopper"})
    assert header(root)["version"] == 2
    async with await Store.open(root) as store:  # nothing to migrate: no KeyError on "name"
        coll = await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
        assert coll.all()[0]["first"] == "Grace"


async def test_newer_store_refuses_to_open(root: Path) -> None:
    await make_v0(root)
    async with await Store.open(root) as store:
        await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
    async with await Store.open(root) as store:
        with pytest.raises(StoreError, match="written by a newer Hearth.*version 2.*up to 1"):
            await store.collection(DOCTYPE, version=1, migrations=MIGRATIONS[:1])
    assert header(root)["version"] == 2


async def test_failing_migration_changes_nothing_and_can_be_fixed(root: Path) -> None:
    before = await make_v0(root)

    def broken(doc: dict[str, Any]) -> dict[str, Any]:
        if doc["last"] == "Turing":
            raise KeyError("nickname")
        return doc
    async with await Store.open(root) as store:
        with pytest.raises(StoreError,
                           match="from version 1 to 2 failed.*nickname.*still at version 0"):
            await store.collection(DOCTYPE, version=2, migrations=[split_name, broken])
    assert header(root)["version"] == 0
    async with await Store.open(root) as store:
        assert sorted((await store.collection(DOCTYPE)).all(), key=str) == sorted(before, key=str)
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
        assert len(coll.all()) == 2


@pytest.mark.parametrize("result, message", [
    ("not a dict", "must be a JSON object"),
    ({"_secret": 1}, "reserved"),
    ({"when": {1}}, "can't be stored as JSON"),
])
async def test_migration_returning_a_bad_document_is_refused(
    root: Path, result: object, message: str
) -> None:
    await make_v0(root)
    async with await Store.open(root) as store:
        with pytest.raises(StoreError, match=message):
            await store.collection(DOCTYPE, version=1, migrations=[lambda doc: result])
    assert header(root)["version"] == 0


async def test_failed_snapshot_rename_leaves_the_old_version(root: Path) -> None:
    before = await make_v0(root)
    ops = SpyOps()
    async with await Store.open(root, ops=ops) as store:
        real_replace = ops.replace

        def replace(src: Path, dst: Path) -> None:
            if header_of(src)["version"] == 2:
                raise OSError(errno.EIO, "Input/output error")
            real_replace(src, dst)
        ops.replace = replace
        with pytest.raises(StoreError, match="can't open the collection.*Input/output error"):
            await store.collection(DOCTYPE, version=2, migrations=MIGRATIONS)
    assert header(root)["version"] == 0
    assert not (root / DOCTYPE / (SNAPSHOT + ".tmp")).exists()
    async with await Store.open(root) as store:
        assert len((await store.collection(DOCTYPE)).all()) == len(before)


def header_of(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_bytes()[:256]))


async def test_kill_during_migration_leaves_the_old_version(root: Path) -> None:
    async with await Store.open(root) as store:
        coll = await store.collection(WORKER_DOCTYPE)
        for i in range(300):
            await coll.create({"n": i})
    proc = subprocess.Popen([sys.executable, "-m", "tests.store.worker", "migrate", str(root)],
                            cwd=REPO, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    for _ in range(100):  # a third of the way through
        assert json.loads(proc.stdout.readline())[0] == "migrating"
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert header(root, WORKER_DOCTYPE)["version"] == 0
    async with await Store.open(root) as store:
        docs = (await store.collection(WORKER_DOCTYPE)).all()
        assert sorted(d["n"] for d in docs) == list(range(300))
        assert not any("upgraded" in d for d in docs)
    result = subprocess.run([sys.executable, "-m", "tests.store.worker", "migrate", str(root)],
                            cwd=REPO, capture_output=True, check=True)
    assert result.stdout.splitlines()[-1] == b'["migrated"]'
    async with await Store.open(root) as store:
        coll = await store.collection(WORKER_DOCTYPE, version=1, migrations=[lambda d: d])
        assert all(d["upgraded"] for d in coll.all()) and len(coll) == 300


async def test_declaration_needs_one_migration_per_step(store: Store) -> None:
    with pytest.raises(ValueError, match="exactly one per step"):
        await store.collection(DOCTYPE, version=2, migrations=[split_name])
