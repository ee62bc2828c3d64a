"""PROPFIND answers kept between requests never show a file as it was: writes, moves, disk edits."""
from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from appliance.memo import Memo
from appliance.settings import Settings
from tests.services.test_webdav import PATCH, Box, hrefs, prop, running
from tests.services.test_webdav_locks import take

SYNC = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:getlastmodified/>
<D:getcontentlength/><D:resourcetype/><D:getcontenttype/><D:getetag/></D:prop></D:propfind>
"""  # what sync clients such as rclone ask, again and again


@pytest.fixture
async def box(settings: Settings) -> AsyncIterator[Box]:
    """A box serving WebDAV and a device allowed in."""
    async with running(settings) as opened:
        yield opened


async def listed(box: Box, name: str, field: str) -> str | None:
    """Return one property of one file, as a PROPFIND of its folder shows it."""
    found = prop(await box.propfind("Docs/", "1", SYNC), f"/dav/Docs/{name}", field)
    return None if found is None else found.text


async def test_a_rewritten_file_shows_its_new_etag_size_and_date(box: Box) -> None:
    await box.request("MKCOL", "Docs/")
    await box.request("PUT", "Docs/a.txt", body="first")
    before = await listed(box, "a.txt", "{DAV:}getetag")
    assert before == (await box.request("HEAD", "Docs/a.txt")).headers["ETag"]
    await box.request("PUT", "Docs/a.txt", body="second, longer")
    after = await listed(box, "a.txt", "{DAV:}getetag")
    assert after != before
    assert after == (await box.request("HEAD", "Docs/a.txt")).headers["ETag"]
    assert await listed(box, "a.txt", "{DAV:}getcontentlength") == "14"


async def test_moved_and_deleted_files_leave_the_listing(box: Box) -> None:
    await box.request("MKCOL", "Docs/")
    for name in ("a.txt", "b.txt"):
        await box.request("PUT", f"Docs/{name}", body=name)
    assert hrefs(await box.propfind("Docs/", "1", SYNC))[1:] == ["/dav/Docs/a.txt",
                                                                  "/dav/Docs/b.txt"]
    assert (await box.request("MOVE", "Docs/a.txt", Destination="/dav/Docs/c.txt")).status == 201
    assert (await box.request("DELETE", "Docs/b.txt")).status == 204
    assert hrefs(await box.propfind("Docs/", "1", SYNC))[1:] == ["/dav/Docs/c.txt"]
    assert await listed(box, "c.txt", "{DAV:}displayname") == "c.txt"


async def test_a_file_changed_on_disk_behind_hearths_back_is_shown_changed(box: Box) -> None:
    await box.request("MKCOL", "Docs/")
    await box.request("PUT", "Docs/a.txt", body="12345")
    hashed = await listed(box, "a.txt", "{DAV:}getetag")
    real = box.tree.real_path("/Docs/a.txt")
    real.write_bytes(b"abcde")  # same size, as an editor on another computer would leave it
    st = real.stat()
    os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    unhashed = await listed(box, "a.txt", "{DAV:}getetag")
    assert unhashed not in (None, hashed)
    await box.tree.rescan()
    rescanned = await listed(box, "a.txt", "{DAV:}getetag")
    digest = hashlib.sha256(b"abcde").hexdigest()
    assert rescanned == f'"{digest[:16]}-5"'


async def test_locks_and_dead_properties_show_as_soon_as_they_are_set(box: Box) -> None:
    await box.request("PUT", "doc.txt", body="x")
    assert prop(await box.propfind("", "1"), "/dav/doc.txt", "{DAV:}lockdiscovery") is not None
    token = await take(box, "doc.txt")
    locks = prop(await box.propfind("", "1"), "/dav/doc.txt", "{DAV:}lockdiscovery")
    assert locks is not None and token in "".join(locks.itertext())
    await box.request("UNLOCK", "doc.txt", Lock_Token=f"<{token}>")
    locks = prop(await box.propfind("", "1"), "/dav/doc.txt", "{DAV:}lockdiscovery")
    assert locks is not None and token not in "".join(locks.itertext())
    assert prop(await box.propfind("", "1"), "/dav/doc.txt", "{http://ex/}note") is None
    assert (await box.request("PROPPATCH", "doc.txt", body=PATCH)).status == 207
    note = prop(await box.propfind("", "1"), "/dav/doc.txt", "{http://ex/}note")
    assert note is not None and note.text == "thé "


def test_the_memo_keeps_only_the_latest_written() -> None:
    kept: Memo[str, str] = Memo(size=2)
    written: list[str] = []

    def write(name: str) -> str:
        written.append(name)
        return f"<{name}>"

    for name in ("a", "b", "a", "c", "b", "a"):
        assert kept.get(name, write, name) == f"<{name}>"
    assert written == ["a", "b", "c", "a"]  # a went when c came, b when a came back
    assert len(kept) == 2
