"""Links a script could store: refused by the data API, shown as text if already stored."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.auth.tokens import Scope
from appliance.doctypes import is_web_link
from tests.conftest import page_csrf

SCRIPT_LINKS = ["javascript:alert(document.cookie)", "JavaScript:alert(1)",
                "java\tscript:alert(1)", " javascript:alert(1)", "data:text/html,<script>x</script>",
                "vbscript:msgbox(1)", "file:///etc/passwd"]


@pytest.mark.parametrize("link", SCRIPT_LINKS)
def test_a_link_a_browser_would_run_is_not_a_web_link(link: str) -> None:
    assert not is_web_link(link)


@pytest.mark.parametrize("link", ["https://framagit.org/", "HTTP://a.example:8080/x?y#z",
                                  "/apps/drive/", "notes/12", "?tag=libre", "/a:b"])
def test_web_and_relative_links_are_links(link: str) -> None:
    assert is_web_link(link)


async def _writer(owner: TestClient, doctype: str) -> dict[str, str]:
    token, _ = await owner.app[keys.CORE].tokens.create(
        "a script", [Scope.parse(f"{doctype}:POST")])
    owner.session.cookie_jar.clear()
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_can_t_store_a_script_link_in_a_bookmark(owner: TestClient) -> None:
    headers = await _writer(owner, "io.hearth.bookmarks")
    for link in SCRIPT_LINKS:
        resp = await owner.post("/data/io.hearth.bookmarks/", headers=headers,
                                json={"url": link, "title": "Innocent"})
        assert resp.status == 400, link
        assert "'url'" in (await resp.json())["error"]
    ok = await owner.post("/data/io.hearth.bookmarks/", headers=headers,
                          json={"url": "https://a.example/", "title": "A"})
    assert ok.status == 201
    assert len(owner.app[keys.CORE].collections["io.hearth.bookmarks"].all()) == 1


async def test_a_token_can_t_store_a_script_link_in_a_notification(owner: TestClient) -> None:
    headers = await _writer(owner, "io.hearth.notifications")
    resp = await owner.post("/data/io.hearth.notifications/", headers=headers, json={
        "title": "Your bank needs you", "about": {"href": "javascript:alert(1)"}})
    assert resp.status == 400
    assert "'about.href'" in (await resp.json())["error"]
    assert owner.app[keys.CORE].collections["io.hearth.notifications"].all() == []


async def test_stored_script_links_render_as_text(owner: TestClient) -> None:
    core = owner.app[keys.CORE]
    # written before the doctypes checked links, or behind the API's back
    await core.collections["io.hearth.bookmarks"].create(
        {"url": "javascript:alert(1)", "title": "Trap", "tags": [], "created_at": 1.0})
    await core.collections["io.hearth.notifications"].create(
        {"title": "Trap", "about": {"href": "javascript:alert(2)"}, "created_at": 1.0,
         "read": False})
    bookmarks = await (await owner.get("/apps/bookmarks/")).text()
    assert "Trap" in bookmarks and 'href="javascript:' not in bookmarks
    notes = await owner.get("/notifications")
    assert notes.status == 200
    text = await notes.text()
    assert "Trap" in text and 'href="javascript:' not in text


async def test_a_notification_with_only_a_title_is_listed(owner: TestClient) -> None:
    made = await owner.post("/data/io.hearth.notifications/", json={"title": "Bare"},
                            headers={"X-CSRF-Token": await page_csrf(owner)})
    assert made.status == 201  # no about, no date, no kind: the page must still answer
    resp = await owner.get("/notifications")
    assert resp.status == 200 and "Bare" in await resp.text()
