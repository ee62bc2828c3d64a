"""Creating, reading, updating and deleting documents, and what the store refuses."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from appliance.store import (
    Collection, DocumentConflict, InvalidDoctype, InvalidDocument, DocumentNotFound, Store, StoreError,
)
from tests.store.conftest import DOCTYPE

REV = re.compile(r"^(\d+)-[0-9a-f]{32}$")


def rev_number(doc: dict[str, object]) -> int:
    match = REV.match(str(doc["_rev"]))
    assert match, doc["_rev"]
    return int(match.group(1))


async def test_create_gives_id_and_first_rev_and_survives_reopen(root: Path) -> None:
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        doc = await coll.create({"label": "Électricité", "amount": -42.5, "tags": ["home"]})
        assert re.fullmatch(r"[0-9a-f]{32}", doc["_id"])
        assert rev_number(doc) == 1
        assert coll.get(doc["_id"]) == doc
    async with await Store.open(root) as store:
        coll = await store.collection(DOCTYPE)
        assert coll.get(doc["_id"]) == doc
        assert len(coll) == 1


async def test_put_bumps_rev_and_stale_or_missing_rev_conflicts(coll: Collection) -> None:
    first = await coll.create({"_id": "note-1", "text": "a"})
    second = await coll.put({**first, "text": "b"})
    assert second["_id"] == "note-1" and rev_number(second) == 2
    with pytest.raises(DocumentConflict, match="changed since revision"):
        await coll.put({**first, "text": "c"})
    without_rev = {k: v for k, v in second.items() if k != "_rev"}
    with pytest.raises(DocumentConflict, match="send its current _rev"):
        await coll.put(without_rev)
    assert coll.get("note-1") == second


async def test_put_creates_at_a_new_id_but_not_with_a_rev(coll: Collection) -> None:
    made = await coll.put({"_id": "settings", "theme": "dark"})
    assert rev_number(made) == 1
    with pytest.raises(DocumentConflict, match="doesn't exist"):
        await coll.put({"_id": "ghost", "_rev": made["_rev"]})
    assert coll.get("ghost") is None


async def test_create_refuses_a_taken_id_and_a_rev(coll: Collection) -> None:
    await coll.create({"_id": "same", "n": 1})
    with pytest.raises(DocumentConflict, match="already exists"):
        await coll.create({"_id": "same", "n": 2})
    with pytest.raises(InvalidDocument, match="use put"):
        await coll.create({"_id": "other", "_rev": "1-" + "0" * 32})
    assert coll.get("same")["n"] == 1


async def test_delete_needs_current_rev_and_missing_is_not_found(coll: Collection) -> None:
    doc = await coll.create({"n": 1})
    updated = await coll.put({**doc, "n": 2})
    with pytest.raises(DocumentConflict):
        await coll.delete(doc["_id"], doc["_rev"])
    await coll.delete(doc["_id"], updated["_rev"])
    assert coll.get(doc["_id"]) is None
    with pytest.raises(DocumentNotFound, match="no document"):
        await coll.delete(doc["_id"], updated["_rev"])


async def test_concurrent_puts_on_one_rev_let_exactly_one_win(coll: Collection) -> None:
    doc = await coll.create({"n": 0})
    results = await asyncio.gather(
        *(coll.put({**doc, "n": i}) for i in range(1, 11)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1
    assert all(isinstance(r, DocumentConflict) for r in results if not isinstance(r, dict))
    assert coll.get(doc["_id"]) == won[0]


async def test_returned_documents_are_copies(coll: Collection) -> None:
    doc = await coll.create({"tags": ["a"], "meta": {"k": 1}})
    doc["tags"].append("mutated")
    got = coll.get(doc["_id"])
    assert got is not None
    got["meta"]["k"] = 2
    found = coll.find({})[0]
    assert found["tags"] == ["a"] and found["meta"] == {"k": 1}


async def test_caller_keeps_no_reference_into_the_store(coll: Collection) -> None:
    fields = {"items": [1, 2]}
    doc = await coll.create(fields)
    fields["items"].append(3)
    assert coll.get(doc["_id"])["items"] == [1, 2]


@pytest.mark.parametrize("doctype", [
    "io", "IO.hearth.x", "io..hearth", ".io.hearth", "io.hearth.", "../etc/passwd",
    "io/hearth", "io.hearth\n", "", "io." + "x" * 100, "io.hearth x", "io.héarth",
])
async def test_bad_doctypes_are_refused_with_a_hint(store: Store, doctype: str) -> None:
    with pytest.raises(InvalidDoctype, match="reverse-domain"):
        await store.collection(doctype)
    assert store.doctypes() == []


async def test_good_doctypes_open(store: Store) -> None:
    for doctype in ("io.hearth.bank.operations", "com.example_1.a-b", "a.b"):
        await store.collection(doctype)
    assert store.doctypes() == ["a.b", "com.example_1.a-b", "io.hearth.bank.operations"]


async def test_doctypes_lists_collections_on_disk_before_they_are_opened(root: Path) -> None:
    async with await Store.open(root) as store:
        await store.collection("io.hearth.bills")
        await store.collection("io.hearth.files")
    (root / "lost+found").mkdir()
    async with await Store.open(root) as store:
        assert store.doctypes() == ["io.hearth.bills", "io.hearth.files"]


@pytest.mark.parametrize("doc_id", ["", "_design", "-x", "a/b", "a b", "x" * 129, "é", 12])
async def test_bad_ids_are_refused(coll: Collection, doc_id: object) -> None:
    with pytest.raises(InvalidDocument, match="not a valid document id"):
        await coll.create({"_id": doc_id})
    assert len(coll) == 0


@pytest.mark.parametrize("fields, message", [
    ({"when": {1, 2}}, "can't be stored as JSON"),
    ({"x": float("nan")}, "can't be stored as JSON"),
    ({"x": object()}, "can't be stored as JSON"),
    ({"text": "\ud800"}, "can't be stored as JSON"),
    ({"_deleted": True}, "names starting with '_' are reserved"),
    ({1: "x"}, "is not a string"),
    (["not", "a", "dict"], "must be a JSON object"),
])
async def test_unstorable_documents_are_refused(
    coll: Collection, fields: object, message: str
) -> None:
    with pytest.raises(InvalidDocument, match=message):
        await coll.create(fields)
    assert len(coll) == 0


async def test_put_without_id_points_to_create(coll: Collection) -> None:
    with pytest.raises(InvalidDocument, match="use create"):
        await coll.put({"n": 1})


async def test_collection_is_idempotent_and_keeps_first_declaration(store: Store) -> None:
    first = await store.collection(DOCTYPE, indexes=("a",))
    again = await store.collection(DOCTYPE, indexes=("b",))
    assert first is again
    assert set(first.indexes) == {"a", "b"}
    with pytest.raises(ValueError, match="already open at version 0"):
        await store.collection(DOCTYPE, version=1, migrations=[lambda d: d])


async def test_writes_after_close_are_refused(root: Path) -> None:
    store = await Store.open(root)
    coll = await store.collection(DOCTYPE)
    await coll.create({"_id": "kept"})
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await coll.create({"n": 1})
    async with await Store.open(root) as store:
        assert [d["_id"] for d in (await store.collection(DOCTYPE)).all()] == ["kept"]


async def test_peek_shows_stored_documents_that_later_writes_leave_as_they_were(
        coll: Collection) -> None:
    doc = await coll.create({"_id": "a", "dir_id": "x", "name": "old"})
    seen = coll.peek({"dir_id": "x"})
    assert [d["name"] for d in seen] == ["old"]
    await coll.put({**doc, "name": "new"})
    assert seen[0]["name"] == "old" and seen[0]["_rev"] == doc["_rev"]  # replaced, not changed
    assert [d["name"] for d in coll.peek({"dir_id": "x"})] == ["new"]
    await coll.delete("a", coll.peek({"dir_id": "x"})[0]["_rev"])
    assert coll.peek({"dir_id": "x"}) == [] and seen[0]["name"] == "old"
