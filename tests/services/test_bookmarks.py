"""The built-in bookmarks service: a small service proving the contract end to end."""
from __future__ import annotations


from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.core import open_core
from appliance.settings import Settings
from services.bookmarks import SERVICE
from tests.conftest import page_csrf


async def test_add_list_filter_delete(owner: TestClient) -> None:
    home = await (await owner.get("/")).text()
    assert 'href="/apps/bookmarks/"' in home and "Bookmarks" in home
    csrf = await page_csrf(owner, "/apps/bookmarks/")
    added = await owner.post("/apps/bookmarks/add", data={
        "_csrf": csrf, "url": "framagit.org", "title": "", "tags": "Libre, code ,libre"})
    assert added.status == 200
    page = await added.text()
    assert 'href="https://framagit.org"' in page and "#libre" in page and "#code" in page
    await owner.post("/apps/bookmarks/add", data={"_csrf": csrf, "url": "https://a.example",
                                                  "title": "Other", "tags": ""})
    filtered = await (await owner.get("/apps/bookmarks/?tag=libre")).text()
    assert "framagit.org" in filtered and "Other" not in filtered
    coll = owner.app[keys.CORE].collections["io.hearth.bookmarks"]
    doc = coll.find({"title": "framagit.org"})[0]
    assert doc["tags"] == ["code", "libre"]
    await owner.post("/apps/bookmarks/delete", data={"_csrf": csrf, "id": doc["_id"]})
    assert "framagit.org" not in await (await owner.get("/apps/bookmarks/")).text()


async def test_bad_addresses_are_refused_plainly(owner: TestClient) -> None:
    csrf = await page_csrf(owner, "/apps/bookmarks/")
    for url in ("javascript:alert(1)", "ftp://files.example", "https://", "x" * 3000,
                "data:text/html,hi", "http://a b.example/"):
        resp = await owner.post("/apps/bookmarks/add", data={"_csrf": csrf, "url": url})
        assert resp.status == 400, url
        assert "not a web address" in await resp.text()
    assert owner.app[keys.CORE].collections["io.hearth.bookmarks"].all() == []


async def test_titles_are_escaped(owner: TestClient) -> None:
    csrf = await page_csrf(owner, "/apps/bookmarks/")
    await owner.post("/apps/bookmarks/add", data={
        "_csrf": csrf, "url": "https://a.example", "title": "<script>alert(1)</script>"})
    page = await (await owner.get("/apps/bookmarks/")).text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


async def test_old_bookmarks_are_migrated(settings: Settings) -> None:
    # A bookmark written before version 1 (no tags), straight into the store's files.
    core = await open_core(settings)
    coll = await core.store.collection("io.hearth.bookmarks")
    await coll.create({"url": "https://old.example", "title": "Old"})
    await core.close()
    core = await open_core(settings, [SERVICE])
    try:
        [doc] = core.collections["io.hearth.bookmarks"].all()
        assert doc["tags"] == [] and doc["title"] == "Old"
    finally:
        await core.close()
