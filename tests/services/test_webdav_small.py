"""Small files are sent from memory: the same answers as the streamed ones, ranges and all."""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from appliance.settings import Settings
from services.webdav.space import SMALL_FILE
from tests.services.test_webdav import Box, running

SAME = ("Content-Type", "Content-Length", "Accept-Ranges", "ETag", "Last-Modified")


@pytest.fixture
async def box(settings: Settings) -> AsyncIterator[Box]:
    """A box serving WebDAV and a device allowed in."""
    async with running(settings) as opened:
        yield opened


def shown(resp: aiohttp.ClientResponse) -> dict[str, str]:
    """Return the headers a client reads of a file."""
    return {name: resp.headers[name] for name in SAME}


async def test_small_and_large_files_answer_alike(box: Box) -> None:
    sizes = {"small.txt": 5, "empty.txt": 0, "edge.txt": SMALL_FILE, "large.txt": SMALL_FILE + 1}
    kinds = set()
    for name, size in sizes.items():
        assert (await box.request("PUT", name, body=b"a" * size)).status == 201
        got = await box.request("GET", name)
        assert got.status == 200 and await got.read() == b"a" * size
        head = await box.request("HEAD", name)
        assert head.status == 200 and await head.read() == b""
        assert shown(head) == shown(got) and got.headers["Content-Length"] == str(size)
        assert got.headers["ETag"] == f'"{hashlib.sha256(b"a" * size).hexdigest()[:16]}-{size}"'
        kinds.add((got.headers["Content-Type"], got.headers["Accept-Ranges"]))
    assert kinds == {("text/plain", "bytes")}


async def test_ranges_and_conditions_on_a_small_file(box: Box) -> None:
    await box.request("PUT", "note.txt", body=b"0123456789")
    etag = (await box.request("HEAD", "note.txt")).headers["ETag"]
    part = await box.request("GET", "note.txt", Range="bytes=2-4")
    assert part.status == 206 and await part.read() == b"234"
    assert part.headers["Content-Range"] == "bytes 2-4/10" and part.headers["ETag"] == etag
    stale = await box.request("GET", "note.txt", Range="bytes=2-4", If_Range='"old"')
    assert stale.status == 200 and await stale.read() == b"0123456789"
    assert (await box.request("GET", "note.txt", If_None_Match=etag)).status == 304
    assert (await box.request("GET", "note.txt", If_Match='"other"')).status == 412


async def test_a_small_file_edited_on_disk_is_sent_as_it_is_now(box: Box) -> None:
    await box.request("PUT", "note.txt", body=b"before")
    etag = (await box.request("GET", "note.txt")).headers["ETag"]
    box.tree.real_path("/note.txt").write_bytes(b"after, longer")
    got = await box.request("GET", "note.txt", If_None_Match=etag)
    assert got.status == 200 and await got.read() == b"after, longer"
    assert got.headers["ETag"] != etag and got.headers["Content-Length"] == "13"
