"""Uploads and downloads over HTTP: streamed both ways, ranges, zips, and cut connections."""
from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import tracemalloc
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from appliance.app import create_app
from appliance.platform import Platform
from appliance.platform.disks import FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from services.drive import SERVICE
from tests.conftest import onboard, page_csrf, start_client
from tests.services.test_drive import DRIVE, disk, names_in, put

MiB = 1 << 20


@pytest.fixture
async def owner(settings: Settings) -> AsyncIterator[TestClient]:
    """The owner, signed in, on a fresh box whose only service is the Drive."""
    c = await start_client(settings, [SERVICE])
    await onboard(c)
    yield c
    await c.close()


@dataclass
class Served:
    """A box being served, with the owner's browser signed in (`http`: get, put, post)."""

    http: Any
    port: int
    jar: aiohttp.abc.AbstractCookieJar
    cancels: bool  # whether a request's handler is cancelled when its client goes away


@pytest.fixture(params=["test server", "daemon"])
async def served(request: pytest.FixtureRequest, settings: Settings
                 ) -> AsyncIterator[Served]:
    """The box as aiohttp's test server runs it (handlers cancelled when the client goes
    away) and as `hearth serve` runs it (handlers carry on and see the connection fail)."""
    if request.param == "test server":
        client = await start_client(settings, [SERVICE])
        await onboard(client)
        yield Served(client, client.port, client.session.cookie_jar, cancels=True)
        await client.close()
        return
    app = create_app(settings, platform=Platform(notifier=NullNotifier(), disks=FakeDisks()),
                     services=[SERVICE])
    runner = web.AppRunner(app, access_log=None)  # as in appliance/serving.py
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}",
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await onboard(session)  # type: ignore[arg-type]
        yield Served(session, port, session.cookie_jar, cancels=False)
    await runner.cleanup()


async def raw_request(box: Served, head: str, length: int
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a request's head by hand, as a browser that may give up halfway."""
    csrf = await page_csrf(box.http, DRIVE)
    cookies = box.jar.filter_cookies(URL(f"http://127.0.0.1:{box.port}/"))
    cookie = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    reader, writer = await asyncio.open_connection("127.0.0.1", box.port)
    writer.write((f"{head} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                  f"X-CSRF-Token: {csrf}\r\nContent-Type: application/octet-stream\r\n"
                  f"Content-Length: {length}\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def eventually(check: object, timeout: float = 5.0) -> None:
    """Wait until check() is true."""
    for _ in range(int(timeout / 0.02)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {timeout} s")


async def test_an_upload_cut_halfway_leaves_nothing(
        served: Served, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="services.drive")
    tmp = settings.data / "tmp"
    _, writer = await raw_request(served, f"PUT {DRIVE}api/files/film.mkv", 20 * MiB)
    writer.write(os.urandom(3 * MiB))
    await writer.drain()
    await eventually(lambda: tmp.is_dir() and any(p.stat().st_size for p in tmp.iterdir()))
    # While it is on its way, the half-received file is nowhere to be seen.
    assert await names_in(served.http, DRIVE) == []
    assert (await served.http.get(f"{DRIVE}file/film.mkv")).status == 404
    writer.transport.abort()  # the browser tab is closed
    await eventually(lambda: not any(tmp.iterdir()))
    assert list(disk(settings).iterdir()) == []
    assert await names_in(served.http, DRIVE) == []
    page = await (await served.http.get(f"{DRIVE}search?q=film")).text()
    assert "film.mkv" not in page
    if not served.cancels:
        await eventually(lambda: any("stopped before its end" in r.getMessage()
                                     for r in caplog.records))
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_a_file_larger_than_the_free_space_is_refused_before_it_is_sent(
        owner: TestClient, settings: Settings) -> None:
    box = Served(owner, owner.port, owner.session.cookie_jar, cancels=True)
    reader, writer = await raw_request(box, f"PUT {DRIVE}api/files/huge.iso", 10 ** 15)
    head = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    status, _, body = head.partition(b"\r\n")[0], b"", head.split(b"\r\n\r\n", 1)[1]
    assert b" 507 " in status
    said = json.loads(body)["error"]
    assert said.startswith("The data disk is full.") and "empty the trash" in said
    assert list(disk(settings).iterdir()) == []


async def test_a_big_upload_streams_to_disk_without_filling_memory(
        owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    block = os.urandom(256 * 1024)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(192):  # 48 MiB, sent without a length, as a stream
            yield block
    tracemalloc.start()
    try:
        resp = await owner.put(f"{DRIVE}api/files/Films/big.bin", data=body(),
                               headers={"X-CSRF-Token": csrf})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["size"] == 48 * MiB
    assert peak < 12 * MiB, f"the upload held {peak / MiB:.0f} MiB at once"
    saved = disk(settings) / "Films" / "big.bin"
    assert saved.stat().st_size == 48 * MiB
    with saved.open("rb") as f:
        assert f.read(len(block)) == block


async def test_replacing_a_file_is_asked_for(owner: TestClient, settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    assert (await put(owner, "/a.txt", b"one", csrf)).status == 201
    again = await put(owner, "/a.txt", b"two", csrf)
    assert again.status == 409 and (await again.json())["kind"] == "Exists"
    assert (disk(settings) / "a.txt").read_bytes() == b"one"
    replaced = await put(owner, "/a.txt", b"two", csrf, "?overwrite=1")
    assert replaced.status == 201
    assert (disk(settings) / "a.txt").read_bytes() == b"two"
    stale = await owner.put(f"{DRIVE}api/files/a.txt?overwrite=1", data=b"three",
                            headers={"X-CSRF-Token": csrf, "If-Match": '"old"'})
    assert stale.status == 412
    into_file = await put(owner, "/a.txt/b.txt", b"x", csrf)
    assert 400 <= into_file.status < 500 and (await into_file.json())["error"]


async def test_empty_folders_are_created_with_their_parents(owner: TestClient,
                                                            settings: Settings) -> None:
    csrf = await page_csrf(owner, DRIVE)
    made = await owner.post(f"{DRIVE}api/folders/Dropped/Empty/Inner",
                            headers={"X-CSRF-Token": csrf})
    assert made.status == 201 and (await made.json())["type"] == "directory"
    assert (disk(settings) / "Dropped" / "Empty" / "Inner").is_dir()
    await put(owner, "/file.txt", b"x", csrf)
    clash = await owner.post(f"{DRIVE}api/folders/file.txt", headers={"X-CSRF-Token": csrf})
    assert clash.status == 409


async def test_downloads_answer_ranges_with_the_right_bytes(owner: TestClient) -> None:
    csrf = await page_csrf(owner, DRIVE)
    data = os.urandom(100_000)
    await put(owner, "/Rapport%20%C3%A9t%C3%A9.pdf", data, csrf)
    url = f"{DRIVE}file/Rapport%20%C3%A9t%C3%A9.pdf"
    whole = await owner.get(url)
    assert whole.status == 200 and await whole.read() == data
    assert whole.headers["Accept-Ranges"] == "bytes"
    for asked, expected in (("bytes=1000-1999", data[1000:2000]), ("bytes=-500", data[-500:]),
                            ("bytes=99990-", data[99990:])):
        part = await owner.get(url, headers={"Range": asked})
        assert part.status == 206, asked
        assert await part.read() == expected, asked
    span = await owner.get(url, headers={"Range": "bytes=1000-1999"})
    assert span.headers["Content-Range"] == "bytes 1000-1999/100000"
    beyond = await owner.get(url, headers={"Range": "bytes=200000-"})
    assert beyond.status == 416
    head = await owner.head(url)
    assert head.status == 200 and head.headers["Content-Length"] == "100000"
    same = await owner.get(url, headers={"If-None-Match": whole.headers["ETag"]})
    assert same.status == 304
    saved = await owner.get(url + "?download=1")
    assert saved.headers["Content-Disposition"] == \
        "attachment; filename=\"Rapport _t_.pdf\"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.pdf"
    missing = await owner.get(f"{DRIVE}file/nothing.pdf")
    assert missing.status == 404 and "It isn&#39;t there any more." in await missing.text()


TREE = {
    "Vacances/Été 2024/plage ☀.jpg": os.urandom(300_000),
    "Vacances/Été 2024/notes.txt": b"Il a fait beau.\n" * 5000,
    "Vacances/日本/寿司.png": os.urandom(1000),
    "Vacances/lisez-moi.txt": b"",
}


async def test_a_folder_downloads_as_a_zip_that_unzips_identical(
        owner: TestClient, tmp_path: Path) -> None:
    csrf = await page_csrf(owner, DRIVE)
    for path, data in TREE.items():
        assert (await put(owner, "/" + path, data, csrf)).status == 201
    await owner.post(f"{DRIVE}api/folders/Vacances/Vide", headers={"X-CSRF-Token": csrf})
    resp = await owner.get(f"{DRIVE}zip/Vacances")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
    assert "Content-Length" not in resp.headers  # written while it is sent
    assert resp.headers["Content-Disposition"].endswith("filename*=UTF-8''Vacances.zip")
    body = await resp.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        infos = {i.filename: i for i in archive.infolist()}
        assert infos["Été 2024/plage ☀.jpg"].compress_type == zipfile.ZIP_STORED
        assert infos["Été 2024/notes.txt"].compress_type == zipfile.ZIP_DEFLATED
        assert all(i.flag_bits & 0x800 for n, i in infos.items() if not n.isascii())
        assert "Vide/" in infos
    # The zip as the household's computers open it: Info-ZIP's unzip.
    archive_path = tmp_path / "Vacances.zip"
    archive_path.write_bytes(body)
    out = tmp_path / "out"
    if shutil.which("unzip") is None:
        pytest.skip("Info-ZIP unzip is not installed")
    unzip = await asyncio.create_subprocess_exec("unzip", "-q", str(archive_path), "-d", str(out))
    assert await unzip.wait() == 0
    for path, data in TREE.items():
        assert (out / path.removeprefix("Vacances/")).read_bytes() == data, path
    assert (out / "Vide").is_dir()

    top = await owner.get(f"{DRIVE}zip/")
    assert top.headers["Content-Disposition"].endswith("filename*=UTF-8''Drive.zip")
    with zipfile.ZipFile(io.BytesIO(await top.read())) as archive:
        assert "Vacances/日本/寿司.png" in archive.namelist()
    a_file = await owner.get(f"{DRIVE}zip/Vacances/lisez-moi.txt", allow_redirects=False)
    assert a_file.status == 303


async def test_a_zip_cut_short_stops_and_the_box_carries_on(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="services.drive")
    csrf = await page_csrf(served.http, DRIVE)
    await put(served.http, "/Big/one.bin", os.urandom(32 * MiB), csrf)
    reader, writer = await raw_request(served, f"GET {DRIVE}zip/Big", 0)
    assert b" 200 " in await reader.readline()
    assert len(await reader.read(64 * 1024)) > 0
    writer.transport.abort()  # the visitor cancels the download
    if not served.cancels:
        await eventually(lambda: any("the browser went away" in r.getMessage()
                                     for r in caplog.records))
    again = await served.http.get(f"{DRIVE}zip/Big")
    assert len(await again.read()) > 32 * MiB
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
