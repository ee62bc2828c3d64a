"""Finding documents with selectors, sorting and paging; indexes change speed, not results."""

from __future__ import annotations

import random
from typing import Any

import pytest

from appliance.store import Collection, InvalidSelector, Store
from appliance.store.selector import Selector

OPERATIONS: list[dict[str, Any]] = [
    {"_id": "op1", "account": "checking", "amount": -12.5, "date": "2024-03-01",
     "category": "food", "vendor": {"name": "Biocoop", "city": "Lyon"}, "tags": ["bio"]},
    {"_id": "op2", "account": "checking", "amount": 2100, "date": "2024-03-02",
     "category": "salary", "vendor": {"name": "ACME"}},
    {"_id": "op3", "account": "savings", "amount": 50, "date": "2024-02-15",
     "category": None},
    {"_id": "op4", "account": "checking", "amount": -80, "date": "2024-01-20",
     "category": "health", "reimbursed": True},
    {"_id": "op5", "account": "savings", "amount": 1, "date": "2024-03-05",
     "reimbursed": 1, "tags": []},
    {"_id": "op6", "account": 7, "amount": "n/a", "date": "2023-12-31"},
]


@pytest.fixture
async def ops(store: Store) -> Collection:
    coll = await store.collection("io.hearth.bank.operations")
    for doc in OPERATIONS:
        await coll.create(doc)
    return coll


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["_id"] for d in docs]


@pytest.mark.parametrize("selector, expected", [
    ({}, ["op1", "op2", "op3", "op4", "op5", "op6"]),
    ({"account": "checking"}, ["op1", "op2", "op4"]),
    ({"account": "checking", "category": "food"}, ["op1"]),
    ({"vendor.name": "ACME"}, ["op2"]),
    ({"vendor": {"city": "Lyon"}}, ["op1"]),
    ({"category": None}, ["op3"]),
    ({"reimbursed": True}, ["op4"]),
    ({"reimbursed": 1}, ["op5"]),
    ({"amount": {"$lt": 0}}, ["op1", "op4"]),
    ({"amount": {"$gte": 1, "$lte": 50}}, ["op3", "op5"]),
    ({"amount": {"$gt": 100}}, ["op2"]),
    ({"date": {"$gte": "2024-03-01"}}, ["op1", "op2", "op5"]),
    ({"amount": {"$eq": 50}}, ["op3"]),
    ({"account": {"$ne": "checking"}}, ["op3", "op5", "op6"]),
    ({"category": {"$in": ["food", "health"]}}, ["op1", "op4"]),
    ({"category": {"$nin": ["food", "health"]}}, ["op2", "op3"]),
    ({"reimbursed": {"$exists": True}}, ["op4", "op5"]),
    ({"category": {"$exists": False}}, ["op5", "op6"]),
    ({"tags": []}, ["op5"]),
    ({"tags": ["bio"]}, ["op1"]),
    ({"$or": [{"category": "food"}, {"amount": {"$gt": 1000}}]}, ["op1", "op2"]),
    ({"$and": [{"account": "checking"}, {"amount": {"$lt": 0}}]}, ["op1", "op4"]),
    ({"$not": {"account": "checking"}}, ["op3", "op5", "op6"]),
    ({"amount": {"$not": {"$lt": 0}}}, ["op2", "op3", "op5", "op6"]),
    ({"account": "checking", "$or": [{"category": "salary"}, {"category": "health"}]},
     ["op2", "op4"]),
    ({"vendor.name.first": "x"}, []),
    ({"nothing": {"$ne": 1}}, []),
])
async def test_selectors_find_what_they_say(
    ops: Collection, selector: dict[str, Any], expected: list[str]
) -> None:
    assert ids(ops.find(selector)) == expected


@pytest.mark.parametrize("selector, message", [
    ({"amount": {"$regex": "x"}}, r"unknown operator \$regex"),
    ({"$nor": [{"a": 1}]}, r"unknown operator \$nor"),
    ({"$eq": 1}, r"unknown operator \$eq"),
    ({"a": {"$in": "food"}}, r"\$in needs a list"),
    ({"a": {"$exists": "yes"}}, r"\$exists needs true or false"),
    ({"$or": []}, r"\$or needs a non-empty list"),
    ({"$and": {"a": 1}}, r"\$and needs a non-empty list"),
    ({"a": {"$gt": [1]}}, r"\$gt compares with a number or a string"),
    ({"a": {"$gt": 1, "b": 2}}, "mixes operators"),
    (["a"], "must be a JSON object"),
])
async def test_bad_selectors_say_what_is_wrong(
    ops: Collection, selector: Any, message: str
) -> None:
    with pytest.raises(InvalidSelector, match=message):
        ops.find(selector)


async def test_bad_selector_is_refused_even_when_empty(store: Store) -> None:
    coll = await store.collection("io.hearth.empty")
    with pytest.raises(InvalidSelector, match=r"\$where"):
        coll.find({"x": {"$where": "1"}})


async def test_sort_skip_and_limit(ops: Collection) -> None:
    assert ids(ops.find({}, sort=["date"])) == ["op6", "op4", "op3", "op1", "op2", "op5"]
    assert ids(ops.find({"account": "checking"}, sort=[{"amount": "desc"}])) == [
        "op2", "op1", "op4"]
    # Missing values sort first, then booleans, numbers, strings.
    assert ids(ops.find({}, sort=[{"reimbursed": "asc"}])) == [
        "op1", "op2", "op3", "op6", "op4", "op5"]
    assert ids(ops.find({}, sort=["account", {"date": "desc"}])) == [
        "op6", "op2", "op1", "op4", "op5", "op3"]
    assert ids(ops.find({}, sort=["date"], skip=2, limit=2)) == ["op3", "op1"]
    assert ids(ops.find({}, limit=2, skip=1)) == ["op2", "op3"]
    assert ops.find({}, limit=0) == []
    with pytest.raises(InvalidSelector, match="asc"):
        ops.find({}, sort=[{"date": "down"}])
    with pytest.raises(InvalidSelector, match="limit"):
        ops.find({}, limit=-1)


def random_doc(rng: random.Random, i: int) -> dict[str, Any]:
    pick = rng.choice
    return {
        "_id": f"d{i:04d}",
        "kind": pick(["file", "directory", None, 1, True, 1.0, 0, False]),
        "size": pick([0, 1, 10, 100, 2.5, "big", None]),
        "owner": {"name": pick(["ann", "bob", "cyd"])} if rng.random() < 0.8 else "x",
        **({"tag": pick(["a", "b", ["a"]])} if rng.random() < 0.7 else {}),
    }


def random_selector(rng: random.Random) -> dict[str, Any]:
    value = rng.choice(["file", "directory", None, 1, True, 0, False, 1.0, ["a"], "a", "ann"])
    field = rng.choice(["kind", "tag", "owner.name", "size"])
    shape = rng.randrange(6)
    if shape == 0:
        return {field: value}
    if shape == 1:
        return {field: {"$eq": value}}
    if shape == 2:
        return {field: {"$in": [value, rng.choice(["a", 1, None])]}}
    if shape == 3:
        return {"$and": [{field: value}, {"size": {"$gte": 1}}]}
    if shape == 4:
        return {field: value, "owner": {"name": rng.choice(["ann", "bob"])}}
    return {"$or": [{field: value}, {"kind": "file"}]}


def without_revs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in doc.items() if k != "_rev"} for doc in docs]


async def test_indexed_and_unindexed_finds_agree(store: Store) -> None:
    rng = random.Random(7)
    fields = ("kind", "tag", "owner.name", "size")
    indexed = await store.collection("io.hearth.indexed", indexes=fields)
    plain = await store.collection("io.hearth.plain")
    for i in range(300):
        doc = random_doc(rng, i)
        await indexed.create(doc)
        await plain.create(doc)
    # Updates and deletes must keep the indexes right.
    for i in rng.sample(range(300), 100):
        mine, theirs = indexed.get(f"d{i:04d}"), plain.get(f"d{i:04d}")
        assert mine is not None and theirs is not None
        if rng.random() < 0.3:
            await indexed.delete(mine["_id"], mine["_rev"])
            await plain.delete(theirs["_id"], theirs["_rev"])
        else:
            change = {k: v for k, v in random_doc(rng, i).items() if k != "_id"}
            await indexed.put({"_id": mine["_id"], "_rev": mine["_rev"], **change})
            await plain.put({"_id": theirs["_id"], "_rev": theirs["_rev"], **change})
    narrowed = 0
    for _ in range(400):
        selector = random_selector(rng)
        sort = rng.choice([None, ["size"], [{"kind": "desc"}]])
        limit = rng.choice([None, 5])
        assert without_revs(indexed.find(selector, sort=sort, limit=limit)) == without_revs(
            plain.find(selector, sort=sort, limit=limit)), selector
        if len(indexed._mem.candidates(Selector(selector))) < len(indexed):  # noqa: SLF001
            narrowed += 1
    assert narrowed > 100  # the indexes were really used


def test_a_selector_nested_past_the_limit_is_refused_not_a_crash() -> None:
    deep: dict[str, Any] = {"a": 1}
    for _ in range(5000):  # deep enough to exhaust Python's stack if it were compiled
        deep = {"$not": deep}
    with pytest.raises(InvalidSelector, match="levels deep"):
        Selector(deep)
    with pytest.raises(InvalidSelector, match="levels deep"):
        Selector({"a": {"$in": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}})
    assert Selector({"$not": {"$not": {"a": 1}}}).matches({"a": 1})
