"""WebDAV at /dav/ end to end over HTTP: methods, properties, locks, conditional requests."""
from __future__ import annotations

import contextlib
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.files import FileTree
from appliance.settings import Settings
from services.webdav import SERVICE
from tests.conftest import PASSPHRASE, onboard, start_client

D = "{DAV:}"


@dataclass
class Box:
    """A box serving WebDAV on a loopback port, and a device allowed in."""

    client: TestClient[web.Request, web.Application]
    user: str
    password: str
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        """The WebDAV URL a client is given."""
        return str(self.client.make_url("/dav/"))

    @property
    def tree(self) -> FileTree:
        """The Drive behind it."""
        drive: FileTree = self.client.app[keys.CORE].files
        return drive

    async def request(self, method: str, path: str, *, body: bytes | str | None = None,
                      **headers: str) -> aiohttp.ClientResponse:
        """Send a WebDAV request as the device and return the read response."""
        url = path if path.startswith("http") else self.url + path.lstrip("/")
        resp = await self.http.request(method, url, data=body, headers={
            k.replace("_", "-"): v for k, v in headers.items()})
        await resp.read()
        return resp

    async def propfind(self, path: str, depth: str = "1", body: str = "") -> ET.Element:
        """Return the multistatus of a PROPFIND."""
        resp = await self.request("PROPFIND", path, body=body, Depth=depth)
        assert resp.status == 207, await resp.text()
        return ET.fromstring(await resp.read())


def basic(user: str, password: str) -> dict[str, str]:
    """Return the Authorization header of HTTP Basic."""
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


async def open_box(settings: Settings, name: str = "laptop", *,
                   clock: Callable[[], float] = time.time) -> Box:
    """Start the box with WebDAV and add a device; the caller closes box.client and box.http."""
    client = await start_client(settings, [SERVICE], clock=clock)
    password, device = await client.app[keys.CORE].devices.add(name)
    http = aiohttp.ClientSession(headers=basic(device.name, password))
    return Box(client, device.name, password, http)


@contextlib.asynccontextmanager
async def running(settings: Settings, *,
                  clock: Callable[[], float] = time.time) -> AsyncIterator[Box]:
    """A box for the time of a with block (reading `clock`, which a test may move)."""
    box = await open_box(settings, clock=clock)
    try:
        yield box
    finally:
        await box.http.close()
        await box.client.close()


@pytest.fixture
async def box(settings: Settings) -> AsyncIterator[Box]:
    """A box serving WebDAV and a device allowed in."""
    async with running(settings) as opened:
        yield opened


def hrefs(multistatus: ET.Element) -> list[str]:
    """Return the decoded hrefs of a multistatus, in order."""
    return [unquote(h.text or "") for h in multistatus.iter(D + "href")
            if h.text and not h.text.startswith("opaquelocktoken:")]


def prop(multistatus: ET.Element, href: str, name: str) -> ET.Element | None:
    """Return a property found (200) for one href of a multistatus."""
    for response in multistatus.findall(D + "response"):
        if unquote(response.findtext(D + "href") or "") != href:
            continue
        for propstat in response.findall(D + "propstat"):
            if " 200 " in (propstat.findtext(D + "status") or ""):
                found = propstat.find(f"{D}prop/{name}")
                if found is not None:
                    return found
    return None


# --- Getting in ---

async def test_options_and_authentication(box: Box, settings: Settings) -> None:
    resp = await box.request("OPTIONS", "/")
    assert resp.status == 200
    assert resp.headers["DAV"] == "1, 2" and resp.headers["MS-Author-Via"] == "DAV"
    assert {"PROPFIND", "LOCK", "MOVE"} <= set(resp.headers["Allow"].split(", "))
    async with aiohttp.ClientSession() as anonymous:
        resp = await anonymous.request("PROPFIND", box.url, headers={"Depth": "0"})
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Basic")
    await onboard(box.client)
    signed_in = await box.client.get("/dav/")  # the owner's browser session opens it too
    assert signed_in.status == 200 and "text/html" in signed_in.headers["Content-Type"]
    async with aiohttp.ClientSession(headers=basic("owner", PASSPHRASE)) as owner:
        resp = await owner.request("PROPFIND", box.url, headers={"Depth": "0"})
        assert resp.status == 401  # the box's passphrase never opens WebDAV
    async with aiohttp.ClientSession(headers=basic(box.user, "wrong")) as wrong:
        assert (await wrong.get(box.url)).status == 401


# --- Files ---

async def test_put_get_head_with_etags_ranges_and_conditions(box: Box) -> None:
    body = bytes(range(256)) * 40
    created = await box.request("PUT", "notes.txt", body=body)
    assert created.status == 201 and created.headers["ETag"].startswith('"')
    replaced = await box.request("PUT", "notes.txt", body=body[::-1] + body[1:])
    assert replaced.status == 204
    etag = replaced.headers["ETag"]
    assert etag != created.headers["ETag"]
    body = body[::-1] + body[1:]
    got = await box.request("GET", "notes.txt")
    assert got.status == 200 and await got.read() == body and got.headers["ETag"] == etag
    assert got.headers["Content-Type"] == "text/plain" and got.headers["Accept-Ranges"] == "bytes"
    listed = await box.propfind("notes.txt", "0")
    assert prop(listed, "/dav/notes.txt", D + "getetag").text == etag  # type: ignore[union-attr]
    head = await box.request("HEAD", "notes.txt")
    assert head.status == 200 and head.headers["Content-Length"] == str(len(body))
    part = await box.request("GET", "notes.txt", Range="bytes=10-19")
    assert part.status == 206 and await part.read() == body[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    tail = await box.request("GET", "notes.txt", Range="bytes=-5", If_Range=etag)
    assert tail.status == 206 and await tail.read() == body[-5:]
    stale = await box.request("GET", "notes.txt", Range="bytes=0-0", If_Range='"old"')
    assert stale.status == 200 and await stale.read() == body  # changed since: the whole
    assert (await box.request("GET", "notes.txt", Range="bytes=99999-")).status == 416
    assert (await box.request("GET", "notes.txt", If_None_Match=etag)).status == 304
    assert (await box.request("GET", "notes.txt", If_Match='"old"')).status == 412
    assert (await box.request("GET", "notes.txt", If_Match=etag)).status == 200


async def test_conditional_put(box: Box) -> None:
    assert (await box.request("PUT", "a.txt", body="1", If_Match="*")).status == 412
    first = await box.request("PUT", "a.txt", body="1", If_None_Match="*")
    assert first.status == 201
    assert (await box.request("PUT", "a.txt", body="2", If_None_Match="*")).status == 412
    assert (await box.request("PUT", "a.txt", body="2", If_Match='"nope"')).status == 412
    ok = await box.request("PUT", "a.txt", body="2", If_Match=first.headers["ETag"])
    assert ok.status == 204
    assert await (await box.request("GET", "a.txt")).read() == b"2"
    assert (await box.request("PUT", "a.txt", body="3", Content_Range="bytes 0-0/1")).status \
        == 400


async def test_a_neighbouring_gz_is_never_sent_instead(box: Box) -> None:
    await box.request("PUT", "report.csv", body="a,b\n")
    await box.request("PUT", "report.csv.gz", body=b"\x1f\x8bnot this")
    got = await box.request("GET", "report.csv", Accept_Encoding="gzip, br")
    assert await got.read() == b"a,b\n" and "Content-Encoding" not in got.headers


async def test_folders_mkcol_and_put_need_a_parent(box: Box) -> None:
    assert (await box.request("MKCOL", "Photos")).status == 201
    assert (await box.request("MKCOL", "Photos/")).status == 405
    assert (await box.request("MKCOL", "No/Such")).status == 409
    assert (await box.request("MKCOL", "Other", body="<x/>")).status == 415
    missing = await box.request("PUT", "No/cat.jpg", body="x")
    assert missing.status == 409 and "/dav/No/" in await missing.text()
    await box.request("PUT", "Photos/cat.jpg", body="x")
    assert (await box.request("MKCOL", "Photos/cat.jpg/sub")).status == 409
    assert (await box.request("PUT", "Photos", body="x")).status == 405
    listing = await box.request("GET", "Photos/")
    assert listing.status == 200 and 'href="/dav/Photos/cat.jpg"' in await listing.text()
    bare = await box.http.request("PROPFIND", box.url.rstrip("/"), headers={"Depth": "0"})
    assert bare.status == 207 and "/dav/</D:href>" in await bare.text()


async def test_names_with_spaces_unicode_and_macos_nfd(box: Box) -> None:
    names = ["café au lait.txt", "中文 文件.txt", "emoji 😀.txt", "100% #1 [a]&b;c=d?.txt"]
    for name in names:
        assert (await box.request("PUT", quote(name), body=name)).status == 201, name
    nfd = quote("cafe\u0301 au lait.txt")  # what macOS sends for the same name
    got = await box.request("GET", nfd)
    assert await got.read() == "café au lait.txt".encode()
    assert (await box.request("PUT", nfd, body="again")).status == 204  # the same file
    listed = await box.propfind("/")
    assert sorted(hrefs(listed)[1:]) == sorted("/dav/" + n for n in names)
    raw = await (await box.request("PROPFIND", "/", Depth="1")).text()
    assert "/dav/caf%C3%A9%20au%20lait.txt" in raw and "%3F.txt" in raw
    for bad in ("a%2Fb", "..%2Fx", "aux.txt", "trailing. "):
        assert (await box.request("PUT", bad, body="x")).status == 400, bad
    fragment = await box.request("DELETE", "café%20au%20lait.txt#frag")
    assert fragment.status in (204, 400)  # aiohttp strips a fragment it reads; never 5xx


async def test_delete_goes_to_the_trash(box: Box) -> None:
    await box.request("MKCOL", "Old")
    await box.request("PUT", "Old/letter.txt", body="keep me")
    assert (await box.request("DELETE", "Old", Depth="0")).status == 400
    assert (await box.request("DELETE", "Old")).status == 204
    assert (await box.request("PROPFIND", "Old", Depth="0")).status == 404
    assert (await box.request("DELETE", "Old")).status == 404
    trashed = await box.tree.trashed()
    assert [e.path for e in trashed] == ["/Old"]
    restored = await box.tree.restore(trashed[0].id)
    assert await (await box.request("GET", restored.path + "/letter.txt")).read() == b"keep me"
    assert (await box.request("DELETE", "/")).status == 403


async def test_propfind_depths_and_a_thousand_entries(box: Box) -> None:
    folder = box.client.app[keys.CORE].data_dir / "files" / "Many"
    folder.mkdir(parents=True)
    for i in range(1000):  # plain files, as a computer copying onto the disk leaves them
        (folder / f"f{i:04} é.txt").write_bytes(b"x" * (i % 7))
    infinite = await box.request("PROPFIND", "Many", Depth="infinity")
    assert infinite.status == 403 and b"propfind-finite-depth" in await infinite.read()
    assert (await box.request("PROPFIND", "Many")).status == 403  # no Depth means infinity
    zero = await box.propfind("Many", "0")
    assert hrefs(zero) == ["/dav/Many/"]
    assert prop(zero, "/dav/Many/", D + "resourcetype")[0].tag == D + "collection"  # type: ignore[index]
    many = await box.propfind("Many", "1")
    assert len(hrefs(many)) == 1001
    assert set(hrefs(many)[1:]) == {f"/dav/Many/f{i:04} é.txt" for i in range(1000)}
    size = prop(many, "/dav/Many/f0013 é.txt", D + "getcontentlength")
    assert size is not None and size.text == "6"
    for name in ("getetag", "getlastmodified", "creationdate", "displayname", "supportedlock",
                 "lockdiscovery", "getcontenttype"):
        assert prop(many, "/dav/Many/f0013 é.txt", D + name) is not None, name


async def test_quota_and_propname(box: Box) -> None:
    await box.request("PUT", "x.bin", body=b"1" * 1000)
    quota = await box.propfind("/", "0", '<?xml version="1.0"?><propfind xmlns="DAV:"><prop>'
                                         '<quota-available-bytes/><quota-used-bytes/>'
                                         '<getcontentlength/></prop></propfind>')
    used = prop(quota, "/dav/", D + "quota-used-bytes")
    free = prop(quota, "/dav/", D + "quota-available-bytes")
    assert used is not None and int(used.text or 0) >= 1000
    assert free is not None and int(free.text or 0) > 0
    assert prop(quota, "/dav/", D + "getcontentlength") is None  # a folder has none: 404
    assert "404 Not Found" in ET.tostring(quota, encoding="unicode")
    names = await box.propfind("x.bin", "0", '<propfind xmlns="DAV:"><propname/></propfind>')
    found = prop(names, "/dav/x.bin", D + "getetag")
    assert found is not None and not found.text
    bad = await box.request("PROPFIND", "/", Depth="0", body="<propfind xmlns='DAV:'><oops/>")
    assert bad.status == 400


# --- Dead properties ---

PATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:" xmlns:h="http://ex/">
  <D:set><D:prop>
    <Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>
    <h:note xml:lang="fr">thé <h:b>gras</h:b> 😀</h:note>
  </D:prop></D:set>
  <D:remove><D:prop><h:gone/></D:prop></D:remove>
</D:propertyupdate>"""
ASK = ('<D:propfind xmlns:D="DAV:" xmlns:h="http://ex/" xmlns:Z="urn:schemas-microsoft-com:">'
       '<D:prop><h:note/><Z:Win32FileAttributes/><h:nothing/></D:prop></D:propfind>')


async def _note(box: Box, path: str) -> str | None:
    found = prop(await box.propfind(path, "0", ASK), unquote("/dav/" + path),
                 "{http://ex/}note")
    return None if found is None else ET.tostring(found, encoding="unicode")


async def test_proppatch_sets_and_removes_dead_properties(box: Box) -> None:
    await box.request("PUT", "doc.txt", body="x")
    patched = await box.request("PROPPATCH", "doc.txt", body=PATCH)
    assert patched.status == 207 and "200 OK" in await patched.text()
    answer = await box.propfind("doc.txt", "0", ASK)
    note = prop(answer, "/dav/doc.txt", "{http://ex/}note")
    assert note is not None and note.text == "thé " and note[0].text == "gras"
    assert note.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert "404 Not Found" in ET.tostring(answer, encoding="unicode")  # h:nothing
    everything = await box.propfind("doc.txt", "0")
    assert prop(everything, "/dav/doc.txt", "{urn:schemas-microsoft-com:}Win32FileAttributes") \
        is not None
    refused = await box.request("PROPPATCH", "doc.txt", body=PATCH.replace(
        "<D:remove>", "<D:set><D:prop><D:getetag>x</D:getetag></D:prop></D:set><D:remove>"))
    text = await refused.text()
    assert refused.status == 207 and "403 Forbidden" in text and "424 Failed Dependency" in text
    await box.request("PROPPATCH", "doc.txt", body=PATCH.replace("D:set>", "D:remove>"))
    assert await _note(box, "doc.txt") is None
    assert (await box.request("PROPPATCH", "nowhere.txt", body=PATCH)).status == 404
    assert (await box.request("PROPPATCH", "doc.txt", body="<a/>")).status == 400


async def test_dead_properties_persist_follow_moves_copies_and_go_on_delete(
        settings: Settings) -> None:
    async with running(settings) as box:
        await box.request("MKCOL", "Trip")
        await box.request("PUT", "Trip/day 1.txt", body="sun")
        await box.request("PROPPATCH", "Trip/day%201.txt", body=PATCH)
        await box.request("PROPPATCH", "Trip/", body=PATCH)
    box = await open_box(settings, name="phone")  # a restart: locks gone, properties kept
    try:
        assert await _note(box, "Trip/day%201.txt") is not None
        dest = box.url + "Voyage%20%C3%A9t%C3%A9/"
        assert (await box.request("MOVE", "Trip/", Destination=dest)).status == 201
        assert await _note(box, "Voyage%20%C3%A9t%C3%A9/day%201.txt") is not None
        copied = await box.request("COPY", "Voyage%20%C3%A9t%C3%A9/", Destination="/dav/Copy/")
        assert copied.status == 201
        assert await _note(box, "Copy/day%201.txt") is not None
        assert await _note(box, "Copy/") is not None
        coll = box.client.app[keys.CORE].collections["io.hearth.webdav.properties"]
        assert len(coll) == 4
        await box.request("DELETE", "Copy/")
        assert len(coll) == 2
        await box.request("PUT", "plain.txt", body="p")
        over = await box.request("MOVE", "plain.txt", Destination="/dav/Voyage%20%C3%A9t%C3%A9/"
                                 "day%201.txt")
        assert over.status == 204 and len(coll) == 1  # the replaced file's went with it
        assert await _note(box, "Voyage%20%C3%A9t%C3%A9/day%201.txt") is None
    finally:
        await box.http.close()
        await box.client.close()


# --- COPY and MOVE ---

async def test_copy_and_move_destinations_overwrite_and_depth(box: Box) -> None:
    await box.request("MKCOL", "A")
    await box.request("PUT", "A/one.txt", body="1")
    await box.request("MKCOL", "A/inner")
    await box.request("PUT", "A/inner/two.txt", body="2")
    shallow = await box.request("COPY", "A", Destination=box.url + "B", Depth="0")
    assert shallow.status == 201 and hrefs(await box.propfind("B")) == ["/dav/B/"]
    assert (await box.request("COPY", "A", Destination="/dav/B", Overwrite="F")).status == 412
    deep = await box.request("COPY", "A/", Destination="/dav/B/", Overwrite="T")
    assert deep.status == 204
    assert await (await box.request("GET", "B/inner/two.txt")).read() == b"2"
    assert (await box.request("COPY", "A/one.txt", Destination="/dav/B")).status == 204
    assert await (await box.request("GET", "B")).read() == b"1"  # a file replaced the folder
    for destination, status in (("/dav/A", 403), ("/dav/A/inner/x", 403), ("/dav/No/x", 409),
                                ("http://elsewhere.example/dav/x", 502), ("/dav/a%2Fb", 400)):
        resp = await box.request("MOVE", "A", Destination=destination)
        assert resp.status == status, (destination, await resp.text())
    assert (await box.request("MOVE", "A", Destination="/dav/C", Depth="0")).status == 400
    assert (await box.request("MOVE", "A")).status == 400  # no Destination
    moved = await box.request("MOVE", "A", Destination=quote(box.url + "C 中/", safe=":/"))
    assert moved.status == 201
    assert await (await box.request("GET", quote("C 中/inner/two.txt"))).read() == b"2"
    assert (await box.request("PROPFIND", "A", Depth="0")).status == 404
    assert (await box.request("COPY", "Nothing", Destination="/dav/X")).status == 404


# --- Memory ---

async def test_big_files_stream_through_flat_memory(box: Box) -> None:
    import tracemalloc
    size, block = 64 * 1024 * 1024, bytes(range(256)) * 4096  # 64 MiB in 1 MiB blocks

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    tracemalloc.start()
    try:
        put = await box.http.put(box.url + "big.bin", data=body())
        assert put.status == 201
        got = await box.http.get(box.url + "big.bin")
        received = 0
        async for chunk in got.content.iter_chunked(1024 * 1024):
            received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.1f} MiB held at once"
