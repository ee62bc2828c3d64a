"""WebDAV locks and the If header over HTTP: who may write while a resource is locked."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from appliance import keys
from appliance.settings import Settings
from tests.services.test_webdav import Box, basic, prop, running

LOCKINFO = """<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope>
<D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:marie@example.org</D:href></D:owner>
</D:lockinfo>"""
D = "{DAV:}"


@pytest.fixture
def now() -> list[float]:
    """The box's clock: it stands still until a test moves it."""
    return [1_700_000_000.0]


@pytest.fixture
async def box(settings: Settings, now: list[float]) -> AsyncIterator[Box]:
    """A box serving WebDAV and a device allowed in, reading the clock `now`."""
    async with running(settings, clock=lambda: now[0]) as opened:
        yield opened


@pytest.fixture
async def phone(box: Box) -> AsyncIterator[aiohttp.ClientSession]:
    """Another device of the household, with its own app password."""
    password, device = await box.client.app[keys.CORE].devices.add("phone")
    async with aiohttp.ClientSession(headers=basic(device.name, password)) as session:
        yield session


async def take(box: Box, path: str, *, scope: str = "exclusive", depth: str = "infinity",
               timeout: str = "Second-600", status: int = 200) -> str:
    """Lock a resource and return the lock token."""
    resp = await box.request("LOCK", path, body=LOCKINFO.format(scope=scope), Depth=depth,
                             Timeout=timeout)
    assert resp.status == status, await resp.text()
    token = resp.headers["Lock-Token"]
    assert re.fullmatch(r"<opaquelocktoken:[0-9a-f-]{36}>", token)
    return token[1:-1]


async def test_exclusive_lock_keeps_others_out_until_unlocked(box: Box,
                                                              phone: aiohttp.ClientSession) -> None:
    await box.request("PUT", "report.odt", body="v1")
    token = await take(box, "report.odt")
    listed = await box.propfind("report.odt", "0")
    active = prop(listed, "/dav/report.odt", D + "lockdiscovery")
    assert active is not None and active.findtext(f"{D}activelock/{D}locktoken/{D}href") == token
    assert active.findtext(f"{D}activelock/{D}owner/{D}href") == "mailto:marie@example.org"
    refused = await box.request("PUT", "report.odt", body="v2")
    assert refused.status == 423 and b"lock-token-submitted" in await refused.read()
    for method in ("DELETE", "PROPPATCH", "MOVE"):
        resp = await box.request(method, "report.odt", Destination="/dav/elsewhere.odt")
        assert resp.status == 423, method
    assert (await box.request("LOCK", "report.odt", body=LOCKINFO.format(scope="shared"))
            ).status == 423
    assert (await box.request("PUT", "report.odt", body="v2", If=f"(<{token}>)")).status == 204
    # The token is the laptop's: the phone can't use it, nor remove the lock.
    other = await phone.put(box.url + "report.odt", data="v3", headers={"If": f"(<{token}>)"})
    assert other.status == 423
    gone = await phone.request("UNLOCK", box.url + "report.odt",
                               headers={"Lock-Token": f"<{token}>"})
    assert gone.status == 403
    assert (await box.request("UNLOCK", "report.odt", Lock_Token="<opaquelocktoken:x>")
            ).status == 409
    assert (await box.request("UNLOCK", "report.odt", Lock_Token=f"<{token}>")).status == 204
    assert (await box.request("PUT", "report.odt", body="v4")).status == 204
    stale = await box.request("PUT", "report.odt", body="v5", If=f"(<{token}>)")
    assert stale.status == 412


async def test_shared_locks_refresh_and_expiry(box: Box, now: list[float]) -> None:
    await box.request("PUT", "shared.txt", body="x")
    first = await take(box, "shared.txt", scope="shared")
    second = await take(box, "shared.txt", scope="shared")
    assert first != second
    assert (await box.request("PUT", "shared.txt", body="y", If=f"(<{second}>)")).status == 204
    refreshed = await box.request("LOCK", "shared.txt", If=f"(<{first}>)", Timeout="Second-90")
    assert refreshed.status == 200 and "Second-9" in await refreshed.text()
    assert (await box.request("LOCK", "shared.txt", If="(<opaquelocktoken:no>)")).status == 412
    assert (await box.request("LOCK", "shared.txt")).status == 400  # neither body nor If
    for token in (first, second):
        await box.request("UNLOCK", "shared.txt", Lock_Token=f"<{token}>")
    await take(box, "shared.txt", timeout="Second-10")
    now[0] += 9.9
    assert (await box.request("PUT", "shared.txt", body="still locked")).status == 423
    now[0] += 0.1  # ten seconds on: the lock has expired
    assert (await box.request("PUT", "shared.txt", body="free again")).status == 204


async def test_collection_locks_cover_members(box: Box) -> None:
    await box.request("MKCOL", "Shared")
    await box.request("PUT", "Shared/old.txt", body="o")
    deep = await take(box, "Shared/")
    assert (await box.request("PUT", "Shared/new.txt", body="n")).status == 423
    assert (await box.request("DELETE", "Shared/old.txt")).status == 423
    tagged = f"<{box.url}Shared/> (<{deep}>)"
    assert (await box.request("PUT", "Shared/new.txt", body="n", If=tagged)).status == 201
    assert (await box.request("MKCOL", "Shared/sub", If=f"(<{deep}>)")).status == 201
    assert (await box.request("MOVE", "Shared/new.txt", Destination="/dav/out.txt")).status == 423
    moved = await box.request("MOVE", "Shared/new.txt", Destination="/dav/out.txt", If=tagged)
    assert moved.status == 201
    into = await box.request("COPY", "out.txt", Destination="/dav/Shared/copy.txt")
    assert into.status == 423
    into = await box.request("COPY", "out.txt", Destination="/dav/Shared/copy.txt",
                             If=f"</dav/Shared/copy.txt> (<{deep}>)")
    assert into.status == 201
    member = prop(await box.propfind("Shared/old.txt", "0"), "/dav/Shared/old.txt",
                  D + "lockdiscovery")
    assert member is not None and member.findtext(f".//{D}lockroot/{D}href") == "/dav/Shared/"
    assert (await box.request("DELETE", "Shared")).status == 423
    assert (await box.request("DELETE", "Shared", If=f"(<{deep}>)")).status == 204
    assert (await box.request("MKCOL", "Shared")).status == 201  # the lock went with it


async def test_depth_zero_folder_lock_guards_its_member_list_only(box: Box) -> None:
    await box.request("MKCOL", "Box")
    await box.request("PUT", "Box/in.txt", body="1")
    token = await take(box, "Box", depth="0")
    assert (await box.request("PUT", "Box/in.txt", body="2")).status == 204  # content: free
    assert (await box.request("PUT", "Box/added.txt", body="3")).status == 423
    assert (await box.request("DELETE", "Box/in.txt")).status == 423
    assert (await box.request("DELETE", "Box/in.txt", If=f"</dav/Box> (<{token}>)")).status \
        == 204
    assert (await box.request("LOCK", "Box/in2.txt", body=LOCKINFO.format(scope="exclusive"),
                              Depth="0")).status == 423


async def test_locking_an_unmapped_url_makes_an_empty_file(box: Box) -> None:
    token = await take(box, "new%20doc.txt", status=201, depth="0")
    got = await box.request("GET", "new%20doc.txt")
    assert got.status == 200 and await got.read() == b""
    assert (await box.request("PUT", "new%20doc.txt", body="x", If=f"(<{token}>)")).status == 204
    assert (await box.request("LOCK", "no/such.txt", body=LOCKINFO.format(scope="shared"))
            ).status == 409


async def test_if_header_etags_and_not(box: Box) -> None:
    etag = (await box.request("PUT", "e.txt", body="1")).headers["ETag"]
    assert (await box.request("PUT", "e.txt", body="2", If=f"([{etag}])")).status == 204
    assert (await box.request("PUT", "e.txt", body="3", If=f"([{etag}])")).status == 412
    assert (await box.request("PUT", "e.txt", body="3", If="(Not <DAV:no-lock>)")).status == 204
    assert (await box.request("PUT", "e.txt", body="4", If="(<DAV:no-lock>)")).status == 412
    assert (await box.request("PUT", "e.txt", body="4", If="(broken")).status == 400
    other = "<http://other.example/dav/e.txt> (Not <DAV:no-lock>)"
    assert (await box.request("PUT", "e.txt", body="5", If=other)).status == 204
