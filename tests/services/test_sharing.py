"""Share links over HTTP: the owner makes them, visitors without an account use them."""
from __future__ import annotations

import asyncio
import io
import re
import shutil
import time
import zipfile
from datetime import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.files import FileTree
from appliance.settings import Settings
from services.notes import SERVICE as NOTES
from services.sharing import SERVICE as SHARING
from tests.conftest import browser, onboard, page_csrf, start_client

SECRET = b"the neighbours must never read this"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    """An anonymous browser on a fresh box with sharing and notes (no other service)."""
    c = await start_client(settings, [SHARING, NOTES])
    yield c
    await c.close()


def drive(client: TestClient) -> FileTree:
    """Return the box's Drive, the file tree the services use."""
    return client.app[keys.CORE].files


def put(client: TestClient, path: str, data: bytes | str) -> Path:
    """Put a file in the Drive the way a computer would (straight onto the disk)."""
    real = client.app[keys.CORE].data_dir / "files" / path.lstrip("/")
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_bytes(data.encode() if isinstance(data, str) else data)
    return real


def links(client: TestClient) -> list[dict[str, Any]]:
    """Return the stored share links."""
    found: list[dict[str, Any]] = client.app[keys.CORE].collections["io.hearth.sharings"].all()
    return found


async def share(owner: TestClient, path: str, *, expires: str = "", password: str = ""
                ) -> str:
    """Create a link through the owner's form, as the Drive leads there; return /s/<token>."""
    form = await owner.get("/s/new", params={"path": path})
    assert form.status == 200, await form.text()
    csrf = await page_csrf(owner, "/s/")
    made = await owner.post("/s/", data={"_csrf": csrf, "path": path, "expires": expires,
                                         "password": password})
    page = await made.text()
    assert made.status == 200 and "is ready" in page, page
    new = re.search(r'value="([^"]+)" aria-label="[^"]*" data-testid="new-link"', page)
    assert new, page
    return urlsplit(new.group(1)).path


async def raw_get(client: TestClient, target: str) -> tuple[int, bytes]:
    """Send a GET with the request target exactly as written (no client-side cleaning)."""
    host, port = client.server.host, client.server.port
    assert host and port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(answer.split(b" ", 2)[1]), answer


async def test_a_visitor_downloads_a_shared_file_and_the_owner_sees_the_visit(
        owner: TestClient) -> None:
    data = b"%PDF-1.4 " + bytes(range(256)) * 40
    put(owner, "/Docs/Relevé été.pdf", data)
    form = await (await owner.get("/s/new", params={"path": "/Docs/Relevé été.pdf"})).text()
    assert "Relevé été.pdf" in form and 'type="date"' in form and 'name="password"' in form
    link = await share(owner, "/Docs/Relevé été.pdf")
    token = link.rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
    [doc] = links(owner)
    assert doc["token"] == token and doc["path"] == "/Docs/Relevé été.pdf"
    async with browser(owner) as visitor:
        page = await visitor.get(link)
        html = await page.text()
        assert page.status == 200 and "Relevé été.pdf" in html
        assert "maison" in html and "Sign out" not in html and "/settings" not in html
        assert page.headers["Referrer-Policy"] == "same-origin"
        got = await visitor.get(link + "/download")
        assert got.status == 200 and await got.read() == data
        disposition = got.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "Relev%C3%A9%20%C3%A9t%C3%A9.pdf" in disposition
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    listing = await (await owner.get("/s/")).text()
    assert "1 visit" in listing and "1 download" in listing and "never expires" in listing


async def test_downloads_resume_with_byte_ranges(owner: TestClient) -> None:
    data = bytes(range(256)) * 100
    put(owner, "/Films/clip.mp4", data)
    link = await share(owner, "/Films/clip.mp4")
    async with browser(owner) as visitor:
        part = await visitor.get(link + "/download", headers={"Range": "bytes=1000-1999"})
        assert part.status == 206
        assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        assert await part.read() == data[1000:2000]
        tail = await visitor.get(link + "/download", headers={"Range": "bytes=-10"})
        assert await tail.read() == data[-10:]
    assert links(owner)[0]["downloads"] == 0  # resuming is not a new download


async def test_a_password_is_asked_and_wrong_ones_are_slowed_down(owner: TestClient) -> None:
    put(owner, "/Docs/bail.pdf", SECRET)
    put(owner, "/Docs/other.txt", b"other")
    link = await share(owner, "/Docs/bail.pdf", password="tarte aux pommes")
    other = await share(owner, "/Docs/other.txt", password="autre chose")
    assert all(doc["password"].startswith("scrypt$") for doc in links(owner))
    async with browser(owner) as visitor:
        page = await visitor.get(link)
        assert page.status == 200 and 'type="password"' in await page.text()
        locked = await visitor.get(link + "/download", allow_redirects=False)
        assert locked.status == 303 and SECRET not in await locked.read()
        csrf = await page_csrf(visitor, link)
        for _attempt in range(4):
            wrong = await visitor.post(link, data={"_csrf": csrf, "password": "tarte"})
            assert wrong.status == 401 and "Wrong password." in await wrong.text()
        assert "Wait 1 seconds" in await wrong.text()  # the fourth one earns a wait
        blocked = await visitor.post(link, data={"_csrf": csrf, "password": "tarte aux pommes"})
        assert blocked.status == 429 and "Too many wrong passwords" in await blocked.text()
        # Another link is not slowed down by this one.
        opened = await visitor.post(other, data={"_csrf": csrf, "password": "autre chose"})
        assert opened.status == 200 and "other.txt" in await opened.text()
        await asyncio.sleep(1.05)
        right = await visitor.post(link, data={"_csrf": csrf, "password": "tarte aux pommes"})
        assert right.status == 200 and "bail.pdf" in await right.text()
        assert await (await visitor.get(link + "/download")).read() == SECRET
    async with browser(owner) as stranger:  # the password opened one browser, not the link
        again = await stranger.get(link + "/download", allow_redirects=False)
        assert again.status == 303


class Clock:
    """The box's wall clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_link_works_to_the_last_second_of_its_day_then_says_it_expired(
        settings: Settings) -> None:
    clock = Clock(datetime(2030, 6, 14, 9, 0).timestamp())  # box time, as the owner picks days
    owner = await start_client(settings, [SHARING, NOTES], clock=clock)
    try:
        await onboard(owner)
        put(owner, "/Photos/chat.jpg", b"cat")
        link = await share(owner, "/Photos/chat.jpg", expires="2030-06-14")
        async with browser(owner) as visitor:
            clock.now = datetime(2030, 6, 14, 23, 59, 59).timestamp()
            assert (await visitor.get(link)).status == 200
            assert await (await visitor.get(link + "/download")).read() == b"cat"
            assert "Expired" not in await (await owner.get("/s/")).text()
            clock.now += 1  # midnight
            for target in (link, link + "/download"):
                gone = await visitor.get(target)
                text = await gone.text()
                assert gone.status == 410, target
                assert ("This link expired on 2030-06-14. Ask the person who shared it "
                        "for a new link.") in text, target
        assert "Expired" in await (await owner.get("/s/")).text()
    finally:
        await owner.close()


async def test_bad_expiry_dates_are_refused_plainly(owner: TestClient) -> None:
    put(owner, "/a.txt", b"a")
    csrf = await page_csrf(owner, "/s/")
    for date in ("2001-01-01", "demain", "9999-12-31"):
        made = await owner.post("/s/", data={"_csrf": csrf, "path": "/a.txt", "expires": date})
        assert made.status == 400 and "Pick a date between today" in await made.text()
    missing = await owner.post("/s/", data={"_csrf": csrf, "path": "/nowhere.txt"})
    assert missing.status == 404
    assert "There is no file or folder at /nowhere.txt" in await missing.text()
    assert links(owner) == []


async def test_a_revoked_link_answers_not_found(owner: TestClient) -> None:
    put(owner, "/Docs/a.txt", b"a")
    link = await share(owner, "/Docs/a.txt")
    [doc] = links(owner)
    csrf = await page_csrf(owner, "/s/")
    revoked = await owner.post("/s/revoke", data={"_csrf": csrf, "id": doc["_id"]})
    assert revoked.status == 200 and "Nothing is shared yet." in await revoked.text()
    async with browser(owner) as visitor:
        for target in (link, link + "/download", "/s/" + "A" * 32):
            gone = await visitor.get(target)
            assert gone.status == 404
            assert "turned off by the person who shared it" in await gone.text()


async def test_a_moved_item_is_followed_and_a_deleted_one_is_no_longer_shared(
        owner: TestClient) -> None:
    put(owner, "/Docs/plan.txt", b"plan")
    link = await share(owner, "/Docs/plan.txt")
    tree = drive(owner)
    await tree.mkdir("/Archive")
    await tree.move("/Docs/plan.txt", "/Archive/plan 2024.txt")
    async with browser(owner) as visitor:
        assert await (await visitor.get(link + "/download")).read() == b"plan"
        assert links(owner)[0]["path"] == "/Archive/plan 2024.txt"
        assert "/Archive/plan 2024.txt" in await (await owner.get("/s/")).text()
        # Something new where it was is not what was shared.
        put(owner, "/Docs/plan.txt", b"a new file where the old one was")
        await tree.trash("/Archive/plan 2024.txt")
        gone = await visitor.get(link)
        assert gone.status == 410 and "plan.txt is no longer shared" in await gone.text()
        assert (await visitor.get(link + "/download")).status == 410
    assert "No longer shared" in await (await owner.get("/s/")).text()


def make_folder(owner: TestClient) -> dict[str, bytes]:
    """Put a folder with subfolders, accents and binary files in the Drive, and a secret."""
    files = {
        "Vacances/plage.jpg": bytes(range(256)) * 4000,
        "Vacances/notes été.txt": "Crème solaire\n".encode() * 100,
        "Vacances/Jour 2/montagne.png": b"\x89PNG" + bytes(1000),
    }
    for name, data in files.items():
        put(owner, "/" + name, data)
    (owner.app[keys.CORE].data_dir / "files/Vacances/vide").mkdir()
    put(owner, "/Private/secret.txt", SECRET)
    return files


async def test_a_shared_folder_is_listed_and_zipped_identically(owner: TestClient,
                                                              tmp_path: Path) -> None:
    files = make_folder(owner)
    link = await share(owner, "/Vacances")
    async with browser(owner) as visitor:
        page = await (await visitor.get(link)).text()
        for name in ("plage.jpg", "notes été.txt", "Jour 2", "vide", "Download everything"):
            assert name in page
        assert "secret" not in page
        inner = await visitor.get(link + "/in/Jour%202")
        assert inner.status == 200 and "montagne.png" in await inner.text()
        one = await visitor.get(link + "/download/Jour%202/montagne.png")
        assert await one.read() == files["Vacances/Jour 2/montagne.png"]
        got = await visitor.get(link + "/download")
        assert got.status == 200 and got.headers["Content-Type"] == "application/zip"
        assert 'filename="Vacances.zip"' in got.headers["Content-Disposition"]
        body = await got.read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert {n for n in archive.namelist() if not n.endswith("/")} == set(files)
    assert "Vacances/vide/" in archive.namelist()
    for name, data in files.items():
        assert archive.read(name) == data, name
    if shutil.which("unzip"):  # and the usual tool agrees
        (tmp_path / "v.zip").write_bytes(body)
        unzip = await asyncio.create_subprocess_exec(
            "unzip", "-q", str(tmp_path / "v.zip"), "-d", str(tmp_path / "out"))
        assert await unzip.wait() == 0
        for name, data in files.items():
            assert (tmp_path / "out" / name).read_bytes() == data


async def test_a_subfolder_downloads_as_its_own_zip(owner: TestClient) -> None:
    files = make_folder(owner)
    link = await share(owner, "/Vacances")
    async with browser(owner) as visitor:
        got = await visitor.get(link + "/download/Jour%202")
        archive = zipfile.ZipFile(io.BytesIO(await got.read()))
    assert archive.read("Jour 2/montagne.png") == files["Vacances/Jour 2/montagne.png"]
    assert not any("plage" in name for name in archive.namelist())


TRICKS = [
    "../Private/secret.txt", "%2e%2e/Private/secret.txt", "%2E%2E%2FPrivate%2Fsecret.txt",
    "..%2f..%2fPrivate%2fsecret.txt", "..%5cPrivate%5csecret.txt", "/Private/secret.txt",
    "%2FPrivate%2Fsecret.txt", "Jour%202/../../Private/secret.txt", ".%2e/Private/secret.txt",
    "lien/secret.txt", "%00../Private/secret.txt", "..", "%2e%2e",
]


async def test_nothing_outside_a_shared_folder_can_be_reached(owner: TestClient) -> None:
    make_folder(owner)
    data = owner.app[keys.CORE].data_dir / "files"
    (data / "Vacances/lien").symlink_to(data / "Private")  # a link on the disk, leading out
    link = await share(owner, "/Vacances")
    for trick in TRICKS:
        for route in ("download", "in"):
            status, answer = await raw_get(owner, f"{link}/{route}/{trick}")
            assert status in (400, 404), (route, trick, answer[:300])
            assert SECRET not in answer, (route, trick)
    status, answer = await raw_get(owner, f"{link}/download")
    assert status == 200 and SECRET not in answer


async def test_a_shared_file_opens_nothing_beside_it(owner: TestClient) -> None:
    put(owner, "/Docs/a.txt", b"a")
    put(owner, "/Docs/b.txt", SECRET)
    link = await share(owner, "/Docs/a.txt")
    for target in (f"{link}/download/b.txt", f"{link}/download/../b.txt", f"{link}/in/x",
                   f"{link}/download/%2e%2e/b.txt"):
        status, answer = await raw_get(owner, target)
        assert status == 404 and SECRET not in answer, target


async def test_visitors_can_change_nothing(owner: TestClient) -> None:
    real = put(owner, "/Docs/a.txt", b"original")
    link = await share(owner, "/Docs/a.txt")
    async with browser(owner) as visitor:
        csrf = await page_csrf(visitor, "/login")  # a form any visitor may load
        for method in ("PUT", "DELETE", "PATCH"):
            for target in (link, link + "/download"):
                resp = await visitor.request(method, target, data=b"changed",
                                             headers={"X-CSRF-Token": csrf})
                assert resp.status == 405, (method, target)
        posted = await visitor.post(link + "/download", data={"_csrf": csrf})
        assert posted.status == 405
        # The owner's pages refuse someone who only has a link.
        for method, target in (("GET", "/s/"), ("GET", "/s/new?path=/Docs/a.txt"),
                               ("POST", "/s/"), ("POST", "/s/revoke")):
            resp = await visitor.request(method, target, allow_redirects=False,
                                         data={"_csrf": csrf, "path": "/Docs/a.txt",
                                               "id": links(owner)[0]["_id"]},
                                         headers={"Accept": "application/json"})
            assert resp.status == 401, (method, target)
    assert real.read_bytes() == b"original" and len(links(owner)) == 1


async def test_anonymous_owner_pages_send_to_sign_in(owner: TestClient) -> None:
    async with browser(owner) as stranger:
        for target in ("/s/", "/s/new?path=/Docs"):
            resp = await stranger.get(target, allow_redirects=False,
                                      headers={"Accept": "text/html"})
            assert resp.status == 303 and resp.headers["Location"].startswith("/login?next=")


async def test_links_are_out_of_reach_of_the_data_api(owner: TestClient) -> None:
    put(owner, "/a.txt", b"a")
    await share(owner, "/a.txt")
    [doc] = links(owner)
    csrf = await page_csrf(owner, "/s/")
    for resp in (await owner.get(f"/data/io.hearth.sharings/{doc['_id']}"),
                 await owner.post("/data/io.hearth.sharings/_find", json={"selector": {}},
                                  headers={"X-CSRF-Token": csrf})):
        assert resp.status == 403 and doc["token"] not in await resp.text()


async def test_the_visitor_page_speaks_the_visitors_language(owner: TestClient) -> None:
    put(owner, "/a.txt", b"a")
    link = await share(owner, "/a.txt")
    coll = owner.app[keys.CORE].collections["io.hearth.sharings"]
    [doc] = coll.all()
    await coll.put({**doc, "expires_at": time.time() - 10})
    async with browser(owner) as visitor:
        gone = await visitor.get(link, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        assert gone.status == 410 and "Ce lien a expiré le" in await gone.text()


async def test_the_form_the_drive_and_notes_lead_to(owner: TestClient) -> None:
    put(owner, "/Photos/2024/a.jpg", b"a")
    form = await owner.get("/s/new?path=/Photos/2024")
    text = await form.text()
    assert form.status == 200 and "Share 2024" in text and 'value="/Photos/2024"' in text
    missing = await owner.get("/s/new?path=/Photos/1999")
    assert missing.status == 404
    assert "There is no file or folder at /Photos/1999" in await missing.text()
