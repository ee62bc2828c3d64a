"""The Drive's pages and forms over HTTP: folders, names, moves, trash, search, sort, usage."""
from __future__ import annotations

import asyncio
import html
import io
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from yarl import URL

from appliance.settings import Settings
from services.drive import SERVICE
from tests.conftest import browser, onboard, page_csrf, start_client

DRIVE = "/apps/drive/"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    """An anonymous browser on a fresh box whose only service is the Drive."""
    c = await start_client(settings, [SERVICE])
    yield c
    await c.close()


async def put(client: TestClient, path: str, body: bytes, csrf: str, query: str = ""
              ) -> ClientResponse:
    """Upload a file the way the page's script does."""
    return await client.put(f"{DRIVE}api/files{path}{query}", data=io.BytesIO(body),
                            headers={"X-CSRF-Token": csrf,
                                     "Content-Type": "application/octet-stream"})


async def act(client: TestClient, action: str, **fields: str) -> ClientResponse:
    """Post one of the Drive's forms as a browser would, with its CSRF field."""
    csrf = await page_csrf(client, DRIVE)
    return await client.post(f"{DRIVE}actions/{action}", data={"_csrf": csrf, **fields})


async def names_in(client: TestClient, folder_url: str) -> list[str]:
    """Return the names a folder's page lists, in the order shown."""
    page = await (await client.get(folder_url)).text()
    listing = page[page.index('data-testid="files"'):]
    listing = listing[:listing.index("</ul>")]
    return [html.unescape(n) for n in re.findall(r'class="name"[^>]*>.*?<span>(.*?)</span>',
                                                 listing)]


def alert(page: str) -> str:
    """Return the refusal a page shows, as the owner reads it."""
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.DOTALL)
    assert found, "the page shows no error"
    return html.unescape(found.group(1))


def disk(settings: Settings) -> Path:
    """Return the folder where the Drive keeps the owner's plain files."""
    return settings.data / "files"


async def test_anonymous_visitors_are_refused(client: TestClient, settings: Settings) -> None:
    await onboard(client)
    async with browser(client) as stranger:
        page = await stranger.get(DRIVE, allow_redirects=False,
                                  headers={"Accept": "text/html"})
        assert page.status == 303 and page.headers["Location"].startswith("/login")
        sent = await stranger.put(f"{DRIVE}api/files/x.txt", data=b"hi")
        assert sent.status == 401
        assert (await stranger.get(f"{DRIVE}file/x.txt")).status == 401
        assert (await stranger.get(f"{DRIVE}zip/")).status == 401
        form = await stranger.post(f"{DRIVE}actions/mkdir", data={"folder": "/", "name": "x"})
        assert form.status in (401, 403)
    assert not (disk(settings) / "x.txt").exists() and not (disk(settings) / "x").exists()


async def test_a_request_without_the_csrf_token_changes_nothing(owner: TestClient,
                                                                settings: Settings) -> None:
    sent = await owner.put(f"{DRIVE}api/files/x.txt", data=b"hi")
    assert sent.status == 403
    form = await owner.post(f"{DRIVE}actions/mkdir", data={"folder": "/", "name": "x"})
    assert form.status == 403
    wrong = await put(owner, "/x.txt", b"hi", "not-the-token")
    assert wrong.status == 403
    assert list(disk(settings).iterdir()) == []


async def test_folders_inside_folders_with_breadcrumbs(owner: TestClient,
                                                       settings: Settings) -> None:
    made = await act(owner, "mkdir", folder="/", name="Photos")
    assert made.status == 200 and str(made.url.path) == DRIVE
    await act(owner, "mkdir", folder="/Photos", name="Été 2024")
    assert (disk(settings) / "Photos" / "Été 2024").is_dir()
    assert await names_in(owner, DRIVE) == ["Photos"]
    page = await (await owner.get(f"{DRIVE}folder/Photos/%C3%89t%C3%A9%202024")).text()
    assert "<h1>Été 2024</h1>" in page
    trail = re.findall(r'<li><a href="([^"]+)"\s*(aria-current="page")?>([^<]+)</a>', page)
    assert trail == [(DRIVE, "", "Drive"), (f"{DRIVE}folder/Photos", "", "Photos"),
                     (f"{DRIVE}folder/Photos/%C3%89t%C3%A9%202024", 'aria-current="page"',
                      "Été 2024")]
    assert "This folder is empty." in page
    missing = await owner.get(f"{DRIVE}folder/Nowhere")
    assert missing.status == 404
    assert alert(await missing.text()).startswith("It isn't there any more.")


async def test_names_that_cannot_be_used_are_refused_in_plain_words(
        owner: TestClient, settings: Settings) -> None:
    refused = {
        "..": "upper folder", "a/b": "separates folders", "x\x00y": "control character",
        "CON": "Windows reserves it", "é" * 200: "too long", "dot.": "ends with a dot",
        "": "can't be empty",
    }
    for name, why in refused.items():
        resp = await act(owner, "mkdir", folder="/", name=name)
        assert resp.status == 400, name
        said = alert(await resp.text())
        assert said.startswith("That name can't be used.") and why in said, (name, said)
    assert list(disk(settings).iterdir()) == []
    csrf = await page_csrf(owner, DRIVE)
    for path in ("/%2E%2E/escape.txt", "/a%00b.txt", "/aux.txt", "/" + "x" * 300):
        resp = await owner.put(URL(f"{DRIVE}api/files{path}", encoded=True), data=b"no",
                               headers={"X-CSRF-Token": csrf})
        assert resp.status == 400, path
        assert (await resp.json())["error"].startswith("That name can't be used.")
    assert list(disk(settings).iterdir()) == []
    assert not (settings.data / "escape.txt").exists()


async def test_names_are_kept_in_unicode_nfc(owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    decomposed = unicodedata.normalize("NFD", "Élodie été.txt")
    resp = await put(owner, "/" + decomposed, b"bonjour", csrf)
    assert resp.status == 201 and (await resp.json())["name"] == "Élodie été.txt"
    assert [p.name for p in disk(settings).iterdir()] == ["Élodie été.txt"]
    await act(owner, "mkdir", folder="/", name=unicodedata.normalize("NFD", "Noël"))
    assert (disk(settings) / "Noël").is_dir()
    assert await names_in(owner, DRIVE) == ["Noël", "Élodie été.txt"]


async def test_odd_but_valid_names_travel_through_urls(owner: TestClient) -> None:
    csrf = await page_csrf(owner, DRIVE)
    name = "100% sûr #1 ?&+=.txt"
    resp = await put(owner, f"/{quote('Dossier ♥')}/{quote(name, safe='')}", b"odd", csrf)
    assert resp.status == 201, await resp.text()
    assert await names_in(owner, f"{DRIVE}folder/Dossier%20%E2%99%A5") == [name]
    page = await (await owner.get(f"{DRIVE}folder/Dossier%20%E2%99%A5")).text()
    link = re.search(r'href="([^"]+)" download aria-label="Download 100', page)
    assert link
    got = await owner.get(html.unescape(link.group(1)))
    assert got.status == 200 and await got.read() == b"odd"


async def test_rename_move_and_copy(owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    await put(owner, "/note.txt", b"hello", csrf)
    await act(owner, "mkdir", folder="/", name="Papers")
    renamed = await act(owner, "rename", path="/note.txt", name="Letter.txt")
    assert renamed.status == 200 and str(renamed.url.path) == DRIVE
    assert await names_in(owner, DRIVE) == ["Papers", "Letter.txt"]

    taken = await act(owner, "rename", path="/Letter.txt", name="Papers")
    assert taken.status == 409
    assert alert(await taken.text()).startswith("Something with that name is already there.")

    copied = await act(owner, "copy", path="/Letter.txt", to="/")
    assert copied.status == 200
    assert await names_in(owner, DRIVE) == ["Papers", "Letter (2).txt", "Letter.txt"]
    moved = await act(owner, "move", path="/Letter.txt", to="Papers")
    assert moved.status == 200
    assert (disk(settings) / "Papers" / "Letter.txt").read_bytes() == b"hello"
    await act(owner, "copy", path="/Papers", to="/")
    assert (disk(settings) / "Papers (2)" / "Letter.txt").read_bytes() == b"hello"

    into_itself = await act(owner, "move", path="/Papers", to="/Papers/")
    assert into_itself.status in (400, 409, 503)
    assert "into itself" in alert(await into_itself.text())
    nowhere = await act(owner, "move", path="/Letter (2).txt", to="/Missing")
    assert nowhere.status == 404
    assert (disk(settings) / "Letter (2).txt").exists()


async def test_trash_restore_and_empty(owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    await put(owner, "/Photos/cat.jpg", b"cat", csrf)
    await put(owner, "/Photos/dog.jpg", b"dog", csrf)
    trashed = await act(owner, "trash", path="/Photos/cat.jpg")
    assert str(trashed.url.path) == f"{DRIVE}folder/Photos"
    assert await names_in(owner, f"{DRIVE}folder/Photos") == ["dog.jpg"]
    trash = await (await owner.get(f"{DRIVE}trash")).text()
    assert "cat.jpg" in trash and "From /Photos" in trash
    item_id = re.search(r'name="id" value="([^"]+)"', trash)
    assert item_id
    back = await act(owner, "restore", id=item_id.group(1))
    assert str(back.url.path) == f"{DRIVE}trash" and "The trash is empty." in await back.text()
    assert (disk(settings) / "Photos" / "cat.jpg").read_bytes() == b"cat"

    await act(owner, "trash", path="/Photos/cat.jpg")
    await act(owner, "trash", path="/Photos")
    trash = await (await owner.get(f"{DRIVE}trash")).text()
    first = re.search(r'name="id" value="([^"]+)"', trash)
    assert first
    await act(owner, "purge", id=first.group(1))  # the most recent: the Photos folder
    trash = await (await owner.get(f"{DRIVE}trash")).text()
    assert "dog.jpg" not in trash and "cat.jpg" in trash
    emptied = await act(owner, "empty-trash")
    assert "The trash is empty." in await emptied.text()
    assert list(disk(settings).iterdir()) == []
    gone = await act(owner, "restore", id=first.group(1))
    assert gone.status == 404 and alert(await gone.text())


async def test_search_by_name_ignores_case_and_accents(owner: TestClient) -> None:
    csrf = await page_csrf(owner, DRIVE)
    for path in ("/Vacances/Été à Brest.jpg", "/Vacances/hiver.jpg", "/ete-notes.txt"):
        await put(owner, path, b"x", csrf)
    page = await (await owner.get(f"{DRIVE}search?q=ETE")).text()
    assert "Été à Brest.jpg" in page and "ete-notes.txt" in page and "hiver" not in page
    assert f'href="{DRIVE}folder/Vacances">/Vacances</a>' in page
    none = await (await owner.get(f"{DRIVE}search?q=zebra")).text()
    assert "Nothing is named like that." in none


async def test_sorting_by_name_date_and_size(owner: TestClient) -> None:
    csrf = await page_csrf(owner, DRIVE)
    for name, size in (("b.txt", 300), ("a.txt", 10), ("c.txt", 2000)):
        await put(owner, f"/{name}", b"x" * size, csrf)
        await asyncio.sleep(0.02)
    await act(owner, "mkdir", folder="/", name="Zed")
    assert await names_in(owner, DRIVE) == ["Zed", "a.txt", "b.txt", "c.txt"]
    assert await names_in(owner, f"{DRIVE}?sort=name&desc=1") == \
        ["Zed", "c.txt", "b.txt", "a.txt"]
    assert await names_in(owner, f"{DRIVE}?sort=size&desc=1") == \
        ["Zed", "c.txt", "b.txt", "a.txt"]
    assert await names_in(owner, f"{DRIVE}?sort=size&desc=0") == \
        ["Zed", "a.txt", "b.txt", "c.txt"]
    assert await names_in(owner, f"{DRIVE}?sort=date&desc=1") == \
        ["Zed", "c.txt", "a.txt", "b.txt"]


async def test_usage_and_a_rescan_on_demand(owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    await put(owner, "/a.bin", b"x" * 5000, csrf)
    page = await (await owner.get(DRIVE)).text()
    assert "Your files take 5.0 kB." in page and "<meter" in page
    (disk(settings) / "Copied from a laptop").mkdir()
    (disk(settings) / "Copied from a laptop" / "b.txt").write_bytes(b"laptop")
    (disk(settings) / "a.bin").write_bytes(b"changed")
    resp = await act(owner, "rescan", back=f"{DRIVE}?sort=size")
    assert resp.status == 200 and resp.url.query_string == "sort=size"
    for _ in range(100):
        page = await (await owner.get(DRIVE)).text()
        if "The disk was checked" in page:
            break
        await asyncio.sleep(0.05)
    # (the page shown after the click may find the new folder first: counts vary)
    assert re.search(r"The disk was checked: [12] new, 1 changed, 0 gone.", page)
    assert "7 bytes" in page  # a.bin as changed on the laptop
    assert await names_in(owner, f"{DRIVE}folder/Copied%20from%20a%20laptop") == ["b.txt"]


async def test_the_item_page_previews_what_the_browser_can_show(owner: TestClient) -> None:
    csrf = await page_csrf(owner, DRIVE)
    await put(owner, "/cat.png", b"\x89PNG\r\n\x1a\n", csrf)
    await put(owner, "/bill.pdf", b"%PDF-1.4\n", csrf)
    await put(owner, "/page.html", b"<script>alert(1)</script>", csrf)
    image = await (await owner.get(f"{DRIVE}item/cat.png")).text()
    assert f'<img src="{DRIVE}file/cat.png" alt="cat.png">' in image
    pdf = await (await owner.get(f"{DRIVE}item/bill.pdf")).text()
    assert f'<iframe src="{DRIVE}file/bill.pdf"' in pdf
    other = await (await owner.get(f"{DRIVE}item/page.html")).text()
    assert "<iframe" not in other and "<img" not in other and "Rename" in other

    shown = await owner.get(f"{DRIVE}file/cat.png")
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.headers["Content-Security-Policy"].startswith("sandbox")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    inline_pdf = await owner.get(f"{DRIVE}file/bill.pdf")
    assert inline_pdf.headers["Content-Disposition"].startswith("inline;")
    # A web page from the Drive never runs as part of the box's site: it is only saved.
    saved = await owner.get(f"{DRIVE}file/page.html")
    assert saved.headers["Content-Disposition"].startswith("attachment;")
    forced = await owner.get(f"{DRIVE}file/cat.png?download=1")
    assert forced.headers["Content-Disposition"].startswith("attachment;")
    folder = await owner.get(f"{DRIVE}item/", allow_redirects=False)
    assert folder.status in (303, 404)


async def test_the_drive_speaks_french(client: TestClient) -> None:
    await onboard(client, language="fr")
    page = await (await client.get(DRIVE)).text()
    assert "<h1>Drive</h1>" in page and "Envoyer des fichiers" in page
    assert "Corbeille" in page and "Trier par\u00a0:" in page
    refused = await act(client, "mkdir", folder="/", name="..")
    assert alert(await refused.text()).startswith("Ce nom ne peut pas être utilisé.")
    trash = await (await client.get(f"{DRIVE}trash")).text()
    assert "La corbeille est vide." in trash
