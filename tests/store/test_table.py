"""TinyDB's own Table API over the store: same calls, string ids, durable writes."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from tinydb import Query, where
from tinydb.table import Document, Table

from appliance.store import Collection, InvalidDocument, Store
from tests.store.conftest import DOCTYPE

Bill = Query()


def test_tinydb_calls_round_trip_through_a_reopen(root: Path) -> None:
    with Store.open_sync(root) as store:
        table = store.collection_sync(DOCTYPE).table
        assert isinstance(table, Table)
        first = table.insert({"vendor": "EDF", "amount": 61.2, "type": "energy"})
        ids = table.insert_multiple([
            {"vendor": "Free", "amount": 29.99, "type": "telecom"},
            {"_id": "bill-ameli", "vendor": "Ameli", "amount": 25.0, "type": "health_costs"},
        ])
        assert ids[1] == "bill-ameli" and isinstance(first, str)
        assert len(table) == 3
        assert table.get(doc_id=first)["vendor"] == "EDF"
        assert table.get(doc_id=first).doc_id == first
        assert table.get(Bill.vendor == "Free")["amount"] == 29.99
        assert [d.doc_id for d in table.get(doc_ids=["bill-ameli"])] == ["bill-ameli"]
        assert table.contains(Bill.type == "telecom") and table.contains(doc_id="bill-ameli")
        assert table.count(Bill.amount > 26) == 2
        assert sorted(d["vendor"] for d in table.search(Bill.amount < 50)) == ["Ameli", "Free"]
        assert table.update({"paid": True}, Bill.vendor == "EDF") == [first]
        assert table.update(lambda d: d.update(amount=d["amount"] * 2), doc_ids=[first]) == [first]
        assert table.upsert({"vendor": "Free", "amount": 19.99}, Bill.vendor == "Free") == [ids[0]]
        new = table.upsert({"vendor": "Orange", "amount": 40.0}, Bill.vendor == "Orange")
        assert table.remove(where("type") == "health_costs") == ["bill-ameli"]
        snapshot = {d.doc_id: dict(d) for d in table}
    with Store.open_sync(root) as store:
        table = store.collection_sync(DOCTYPE).table
        assert {d.doc_id: dict(d) for d in table.all()} == snapshot
        edf = table.get(doc_id=first)
        assert edf is not None and edf["paid"] is True and edf["amount"] == 122.4
        assert edf["_rev"].startswith("3-")  # created, then two updates
        assert table.get(doc_id=new[0])["vendor"] == "Orange"
        table.truncate()
        assert len(table) == 0
    with Store.open_sync(root) as store:
        assert store.collection_sync(DOCTYPE).table.all() == []


def test_documents_are_copies_and_ids_are_the_store_ids(root: Path) -> None:
    with Store.open_sync(root) as store:
        coll = store.collection_sync(DOCTYPE)
        doc_id = coll.table.insert({"tags": ["a"]})
        got = coll.table.get(doc_id=doc_id)
        assert isinstance(got, Document) and got["_id"] == doc_id
        got["tags"].append("b")
        coll.table.search(Bill.tags.exists())[0]["tags"].append("c")
        assert coll.get(doc_id)["tags"] == ["a"]
        unchanged = coll.get(doc_id)
        assert coll.table.update({"tags": ["a"]}, doc_ids=[doc_id]) == [doc_id]
        assert coll.get(doc_id) == unchanged  # nothing changed: no new revision


def test_table_refuses_what_the_store_refuses(root: Path) -> None:
    with Store.open_sync(root) as store:
        table = store.collection_sync(DOCTYPE).table
        with pytest.raises(InvalidDocument, match="reserved"):
            table.insert({"_hidden": 1})
        with pytest.raises(InvalidDocument, match="not a valid document id"):
            table.insert({"_id": "../x"})
        with pytest.raises(ValueError, match="already exists"):
            table.insert_multiple([{"_id": "one"}, {"_id": "one"}])
        assert len(table) == 0  # all or nothing
        table.insert({"_id": "one", "n": 1})
        with pytest.raises(ValueError, match="already exists"):
            table.insert({"_id": "one"})


async def test_table_and_async_api_see_the_same_documents(coll: Collection) -> None:
    made = await coll.create({"_id": "shared", "n": 1})
    assert coll.table.get(doc_id="shared") == made
    await asyncio.to_thread(coll.table.update, {"n": 2}, doc_ids=["shared"])
    current = coll.get("shared")
    assert current is not None and current["n"] == 2 and current["_rev"].startswith("2-")
    await coll.put({**current, "n": 3})
    assert coll.table.search(Bill.n == 3)[0].doc_id == "shared"


async def test_table_writes_refuse_to_stall_the_event_loop(coll: Collection) -> None:
    with pytest.raises(RuntimeError, match="asyncio.to_thread"):
        coll.table.insert({"n": 1})
    assert len(coll) == 0


def test_threads_write_through_the_table_at_once(root: Path) -> None:
    with Store.open_sync(root) as store:
        table = store.collection_sync(DOCTYPE, indexes=("k",)).table

        def work(k: int) -> None:
            for i in range(50):
                table.insert({"k": k, "i": i})
            table.update({"done": True}, Bill.k == k)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(table) == 300 and table.count(Bill.done == True) == 300  # noqa: E712
    with Store.open_sync(root) as store:
        coll = store.collection_sync(DOCTYPE, indexes=("k",))
        assert len(coll.find({"k": 3, "done": True})) == 50
