"""The data API: cozy-stack's shape, with a session or a scoped token."""
from __future__ import annotations

import io
import json

from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.auth.tokens import Scope
from tests.conftest import page_csrf

URL = "/data/io.hearth.notes.test/"


async def _headers(owner: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": await page_csrf(owner)}


async def test_crud_round_trip_with_a_session(owner: TestClient) -> None:
    h = await _headers(owner)
    created = await owner.post(URL, json={"title": "Courses", "done": False}, headers=h)
    assert created.status == 201
    body = await created.json()
    doc_id, rev = body["id"], body["rev"]
    assert body["data"]["title"] == "Courses" and rev.startswith("1-")

    got = await owner.get(URL + doc_id)
    assert (await got.json()) == {"_id": doc_id, "_rev": rev, "title": "Courses", "done": False}

    updated = await owner.put(URL + doc_id, json={"_rev": rev, "title": "Courses", "done": True},
                              headers=h)
    assert updated.status == 200
    new_rev = (await updated.json())["rev"]
    assert new_rev.startswith("2-")

    stale = await owner.put(URL + doc_id, json={"_rev": rev, "title": "lost update"}, headers=h)
    assert stale.status == 409 and "error" in await stale.json()

    found = await owner.post(URL + "_find", json={"selector": {"done": True}}, headers=h)
    assert [d["_id"] for d in (await found.json())["docs"]] == [doc_id]

    no_rev = await owner.delete(URL + doc_id, headers=h)
    assert no_rev.status == 400 and "rev" in (await no_rev.json())["error"]
    stale_delete = await owner.delete(URL + doc_id + "?rev=" + rev, headers=h)
    assert stale_delete.status == 409
    deleted = await owner.delete(URL + doc_id + "?rev=" + new_rev, headers=h)
    assert deleted.status == 200
    assert (await owner.get(URL + doc_id)).status == 404


async def test_put_creates_at_a_chosen_id(owner: TestClient) -> None:
    h = await _headers(owner)
    resp = await owner.put(URL + "shopping", json={"title": "x"}, headers=h)
    assert resp.status == 200 and (await resp.json())["id"] == "shopping"
    again = await owner.put(URL + "shopping", json={"title": "y"}, headers=h)
    assert again.status == 409  # exists: a write needs its _rev
    mismatch = await owner.put(URL + "other", json={"_id": "shopping", "title": "z"}, headers=h)
    assert mismatch.status == 400


async def test_bad_requests_get_clear_json_errors(owner: TestClient) -> None:
    h = await _headers(owner)
    cases = [
        (lambda: owner.post(URL, data=b"{not json", headers={**h, "Content-Type": "application/json"}),
         400, "not valid JSON"),
        (lambda: owner.post(URL, json=[1, 2], headers=h), 400, "JSON object"),
        (lambda: owner.post(URL, data=b"title=x", headers={**h, "Content-Type": "text/plain"}),
         415, "JSON"),
        (lambda: owner.post(URL, data=io.BytesIO(b'{"x": "' + b"y" * (1100 * 1024) + b'"}'),
                            headers={**h, "Content-Type": "application/json"}),
         413, "larger than"),
        (lambda: owner.post(URL, json={"_rev": "1-abc"}, headers=h), 400, "_rev"),
        (lambda: owner.post("/data/..%2Fetc/", json={}, headers=h), 400, ""),
        (lambda: owner.post("/data/NOT A DOCTYPE/", json={}, headers=h), 400, ""),
        (lambda: owner.get(URL + "_all"), 400, "not a document id"),
        (lambda: owner.post(URL + "_find", json={"selector": {"a": {"$regex": "x"}}}, headers=h),
         400, "$regex"),
        (lambda: owner.post(URL + "_find", json={"selector": {}, "limit": 10**6}, headers=h),
         400, "limit"),
        (lambda: owner.post(URL + "_find", json={"selectr": {}}, headers=h), 400, "selectr"),
        (lambda: owner.get("/data/io.hearth.never.written/abc"), 404, "No such document"),
    ]
    for request, status, words in cases:
        resp = await request()
        assert resp.status == status, (status, await resp.text())
        assert resp.content_type == "application/json"
        assert words in (await resp.json())["error"]


async def test_schema_refuses_unknown_and_mistyped_fields(owner: TestClient) -> None:
    h = await _headers(owner)
    url = "/data/io.hearth.bookmarks/"
    unknown = await owner.post(url, json={"url": "https://a.example", "title": "A",
                                          "colour": "red"}, headers=h)
    assert unknown.status == 400 and "unknown field 'colour'" in (await unknown.json())["error"]
    typed = await owner.post(url, json={"url": 3, "title": "A"}, headers=h)
    assert typed.status == 400 and "'url' must be str" in (await typed.json())["error"]
    missing = await owner.post(url, json={"url": "https://a.example"}, headers=h)
    assert missing.status == 400 and "'title' is required" in (await missing.json())["error"]
    ok = await owner.post(url, json={"url": "https://a.example", "title": "A"}, headers=h)
    assert ok.status == 201


async def test_private_doctypes_are_out_of_reach(owner: TestClient) -> None:
    h = await _headers(owner)
    for doctype in ("io.hearth.sessions", "io.hearth.tokens", "io.hearth.owner"):
        resp = await owner.post(f"/data/{doctype}/_find", json={"selector": {}}, headers=h)
        assert resp.status == 403, doctype
        resp = await owner.get(f"/data/{doctype}/owner")
        assert resp.status == 403, doctype


async def test_tokens_are_limited_to_their_scopes(owner: TestClient) -> None:
    core = owner.app[keys.CORE]
    reader, _ = await core.tokens.create("reader", [Scope.parse("io.hearth.notes.*:GET")])
    writer, _ = await core.tokens.create("writer", [Scope.parse("io.hearth.notes.test:POST")])
    owner.session.cookie_jar.clear()
    made = await owner.post(URL, json={"title": "from a script"},
                            headers={"Authorization": f"Bearer {writer}"})
    assert made.status == 201  # no CSRF needed: a token is not ambient authority
    doc_id = (await made.json())["id"]
    read = await owner.get(URL + doc_id, headers={"Authorization": f"Bearer {reader}"})
    assert read.status == 200
    found = await owner.post(URL + "_find", json={"selector": {}},
                             headers={"Authorization": f"Bearer {reader}"})
    assert found.status == 200  # _find is a read
    denied = [
        await owner.post(URL, json={"t": 1}, headers={"Authorization": f"Bearer {reader}"}),
        await owner.get(URL + doc_id, headers={"Authorization": f"Bearer {writer}"}),
        await owner.post("/data/io.hearth.bookmarks/_find", json={"selector": {}},
                         headers={"Authorization": f"Bearer {reader}"}),
    ]
    for resp in denied:
        assert resp.status == 403 and "may not" in (await resp.json())["error"]


async def test_a_write_is_answered_only_once_durable(owner: TestClient) -> None:
    h = await _headers(owner)
    resp = await owner.post(URL, json={"title": "durable"}, headers=h)
    doc_id = (await resp.json())["id"]
    journal = owner.app[keys.CORE].data_dir / "store" / "io.hearth.notes.test" / "journal.log"
    assert doc_id in journal.read_text()


async def test_bodies_made_to_exhaust_the_box_get_400_not_500(owner: TestClient) -> None:
    h = {**await _headers(owner), "Content-Type": "application/json"}
    bodies = {
        "deep": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "deep but parseable": b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}",
        "long number": b'{"a": ' + b"9" * 5000 + b"}",
        "long float": b'{"a": 0.' + b"1" * 5000 + b"}",
        "infinite": b'{"a": 1e999}',
        "not a number": b'{"a": NaN}',
    }
    for what, body in bodies.items():
        resp = await owner.post(URL, data=body, headers=h)
        assert resp.status == 400, what
        assert "error" in await resp.json(), what
    deep_nots = '{"$not": ' * 5000 + '{"a": 1}' + "}" * 5000
    deep_list = '{"a": {"$in": ' + "[" * 40 + "1" + "]" * 40 + "}}"
    for selector in (deep_nots, deep_list):
        resp = await owner.post(URL + "_find", data=f'{{"selector": {selector}}}', headers=h)
        assert resp.status == 400
        assert "levels deep" in (await resp.json())["error"]
    shallow = await owner.post(URL + "_find", data=json.dumps(
        {"selector": {"$not": {"$not": {"a": {"$in": [[1]]}}}}}), headers=h)
    assert shallow.status == 200 and (await shallow.json())["docs"] == []  # nothing written
