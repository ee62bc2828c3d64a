"""Notes over HTTP: Markdown files in the Drive's Notes folder, edited safely in the browser."""
from __future__ import annotations

import html
import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from appliance import keys
from tests.conftest import browser, page_csrf
from tests.services.test_sharing import client, drive, put

__all__ = ["client"]  # the box with sharing and notes only

NOTES = "/apps/notes/"


def notes_dir(client: TestClient) -> Path:
    """Return the Notes folder on the disk."""
    return client.app[keys.CORE].data_dir / "files" / "Notes"


def field(page: str, name: str) -> str:
    """Return the value of a hidden field on a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field"
    return html.unescape(found.group(1))


def textarea(page: str) -> str:
    """Return what the editor holds."""
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.DOTALL)
    assert found, "no editor"
    return html.unescape(found.group(1))


async def write(client: TestClient, text: str, url: str = NOTES + "new",
                etag: str | None = None) -> tuple[int, str, str]:
    """Post the editor's form; return the status, the page and where it ended."""
    page = await (await client.get(url)).text()
    data = {"_csrf": field(page, "_csrf"), "text": text,
            "etag": field(page, "etag") if etag is None else etag}
    resp = await client.post(url, data=data)
    return resp.status, await resp.text(), resp.url.path


async def test_a_note_from_creation_to_the_trash(owner: TestClient) -> None:
    empty = await (await owner.get(NOTES)).text()
    assert "No notes yet" in empty and notes_dir(owner).is_dir()  # made on first use
    status, page, where = await write(owner, "# Courses\r\n\r\n- lait\r\n- **pain**")
    assert status == 200 and where == NOTES + "n/Courses.md"
    assert (notes_dir(owner) / "Courses.md").read_text() == "# Courses\n\n- lait\n- **pain**\n"
    assert "<strong>pain</strong>" in page and textarea(page).startswith("# Courses")
    status, page, where = await write(owner, "# Courses\n\n- lait\n- pain\n- œufs", where)
    assert status == 200 and "Saved." in page and where == NOTES + "n/Courses.md"
    assert "œufs" in (notes_dir(owner) / "Courses.md").read_text()
    await write(owner, "Idées de cadeaux\nun livre")
    listing = await (await owner.get(NOTES)).text()
    assert listing.index("Idées de cadeaux") < listing.index("Courses")  # newest first
    assert 'href="/apps/notes/n/Id%C3%A9es%20de%20cadeaux.md"' in listing
    page = await (await owner.get(NOTES + "n/Courses.md")).text()
    gone = await owner.post(NOTES + "n/Courses.md/delete", data={"_csrf": field(page, "_csrf")})
    assert gone.status == 200 and "Courses" not in await gone.text()
    assert not (notes_dir(owner) / "Courses.md").exists()
    assert [e.name for e in await drive(owner).trashed()] == ["Courses.md"]


async def test_notes_with_the_same_title_keep_apart(owner: TestClient) -> None:
    for _ in range(2):
        await write(owner, "Liste\nà faire")
    _, _, where = await write(owner, "   \n")
    assert where == NOTES + "n/Note.md"
    _, _, slashed = await write(owner, "# Budget 2025/2026: ménage?")
    assert slashed == NOTES + "n/Budget 2025 2026 ménage.md"
    assert sorted(p.name for p in notes_dir(owner).iterdir()) == [
        "Budget 2025 2026 ménage.md", "Liste (2).md", "Liste.md", "Note.md"]


async def test_a_note_changed_elsewhere_is_not_overwritten(owner: TestClient) -> None:
    _, _, url = await write(owner, "Vacances\nmer")
    opened = await (await owner.get(url)).text()
    # Meanwhile, a phone saves the same note over WebDAV.
    put(owner, "/Notes/Vacances.md", "Vacances\nmontagne, finalement\n")
    status, page, _ = await write(owner, "Vacances\nmer et soleil", url,
                                  etag=field(opened, "etag"))
    assert status == 409 and "changed elsewhere" in page
    assert textarea(page) == "Vacances\nmer et soleil\n"  # nothing typed is lost
    assert "montagne, finalement" in page  # and the other version is shown
    assert (notes_dir(owner) / "Vacances.md").read_text() == "Vacances\nmontagne, finalement\n"
    # Saving again from that page is a deliberate choice: it replaces the other version.
    again = await owner.post(url, data={"_csrf": field(page, "_csrf"), "etag": field(page, "etag"),
                                        "text": textarea(page)})
    assert again.status == 200 and "Saved." in await again.text()
    assert (notes_dir(owner) / "Vacances.md").read_text() == "Vacances\nmer et soleil\n"


async def test_a_note_deleted_elsewhere_can_be_kept_as_new(owner: TestClient) -> None:
    _, _, url = await write(owner, "Brouillon\nun")
    opened = await (await owner.get(url)).text()
    (notes_dir(owner) / "Brouillon.md").unlink()
    status, page, _ = await write(owner, "Brouillon\ndeux", url, etag=field(opened, "etag"))
    assert status == 409 and "deleted or moved elsewhere" in page
    assert textarea(page) == "Brouillon\ndeux\n" and 'action="/apps/notes/new"' in page


async def test_search_ignores_case_and_accents(owner: TestClient) -> None:
    await write(owner, "Été à la mer\nprendre la crème solaire")
    await write(owner, "Recettes\nCrème brûlée: 4 jaunes d'œufs")
    await write(owner, "Garage\nvidange")

    async def found(query: str) -> list[str]:
        page = await (await owner.get(NOTES, params={"q": query})).text()
        return re.findall(r'<a href="/apps/notes/n/[^"]+">([^<]+)</a>', page)
    assert await found("ete") == ["Été à la mer"]
    assert await found("ÉTÉ MER") == ["Été à la mer"]
    assert sorted(await found("creme")) == ["Recettes", "Été à la mer"]
    assert await found("CREME brulee") == ["Recettes"]
    assert await found("oeufs") == [] and await found("œufs") == ["Recettes"]
    assert await found("piscine") == []
    page = await (await owner.get(NOTES, params={"q": "brulee"})).text()
    assert "Crème <mark>brûlée</mark>: 4 jaunes" in html.unescape(page)


async def test_markdown_never_runs_what_a_note_holds(owner: TestClient) -> None:
    evil = ("Piège\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n"
            "[clic](javascript:alert(3)) [ok](https://example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    _, page, _ = await write(owner, evil)
    csrf = field(page, "_csrf")
    preview = await owner.post(NOTES + "preview", data={"text": evil},
                               headers={"X-CSRF-Token": csrf})
    for shown in (await preview.text(), page):
        assert "<script>alert" not in shown and "<img src=x" not in shown
        assert 'href="javascript:' not in shown
    fragment = await preview.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert '<a href="https://example.org">ok</a>' in fragment and "<table>" in fragment
    refused = await owner.post(NOTES + "preview", data={"text": "x"})  # no CSRF token
    assert refused.status == 403


async def test_strangers_and_odd_names_get_nothing(owner: TestClient) -> None:
    put(owner, "/secret.md", "SECRET-CONTENT")
    put(owner, "/Notes/photo.jpg", b"\xff\xd8")
    for target in ("n/..%2Fsecret.md", "n/%2E%2E%2Fsecret.md", "n/photo.jpg", "n/nope.md"):
        resp = await owner.get(NOTES + target)
        assert resp.status == 404, target
        assert "SECRET-CONTENT" not in await resp.text()
    listing = await (await owner.get(NOTES)).text()
    assert "photo.jpg" not in listing
    async with browser(owner) as stranger:
        for method, target in (("GET", ""), ("GET", "n/x.md"), ("POST", "new"),
                               ("POST", "preview"), ("POST", "n/x.md/delete")):
            resp = await stranger.request(method, NOTES + target, allow_redirects=False,
                                          headers={"Accept": "application/json"})
            assert resp.status == 401, (method, target)


async def test_a_file_named_notes_is_explained(owner: TestClient) -> None:
    put(owner, "/Notes", "not a folder")
    resp = await owner.get(NOTES)
    assert resp.status == 409 and "folder of the Drive can&#39;t hold notes" in await resp.text()


async def test_a_note_offers_to_share_it(owner: TestClient) -> None:
    _, page, _ = await write(owner, "Recette\nfarine")
    assert 'action="/s/new"' in page and 'value="/Notes/Recette.md"' in page
    form = await owner.get("/s/new", params={"path": "/Notes/Recette.md"})
    assert form.status == 200 and "Share Recette.md" in await form.text()


async def test_too_long_notes_are_refused_plainly(owner: TestClient) -> None:
    csrf = await page_csrf(owner, NOTES + "new")
    resp = await owner.post(NOTES + "new", data={"_csrf": csrf, "text": "x" * 100_001})
    assert resp.status == 413 and "too long to save" in await resp.text()
    put(owner, "/Notes/huge.md", "y" * 400_000)
    opened = await owner.get(NOTES + "n/huge.md")
    assert opened.status == 413 and "too big to edit here" in await opened.text()
