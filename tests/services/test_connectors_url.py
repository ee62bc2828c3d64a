"""The url connector against a real aiohttp server on loopback: 304s, names, errors, big files."""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient, TestServer

from appliance.core import Core
from tests.jobs.conftest import core, split_settings, toys  # noqa: F401  (fixtures)
from tests.services.account_runs import Account, said
from tests.services.test_connectors import add_account, box, finished, run_now  # noqa: F401
from tests.services.test_connectors import scheduler_of
from tests.services.dovecot import free_port

BIG = 64 << 20  # bytes of the large document
BLOCK = 1 << 20


@dataclass
class Site:
    """What the web server serves, and the requests it saw."""

    document: bytes = b"%PDF-1.4\n% releve v1\n"
    version: int = 1
    seen: list[dict[str, str]] = field(default_factory=list)
    base: str = ""

    def change(self, content: bytes) -> None:
        self.document, self.version = content, self.version + 1


def _block(index: int) -> bytes:
    return hashlib.sha256(str(index).encode()).digest() * (BLOCK // 32)


def big_digest() -> str:
    digest = hashlib.sha256()
    for index in range(BIG // BLOCK):
        digest.update(_block(index))
    return digest.hexdigest()


def make_app(site: Site) -> web.Application:
    async def document(request: web.Request) -> web.StreamResponse:
        site.seen.append(dict(request.headers))
        etag = f'"v{site.version}"'
        modified = f"Mon, 0{site.version} Dec 2026 08:00:00 GMT"
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=site.document, content_type="application/pdf",
                            headers={"ETag": etag, "Last-Modified": modified})

    async def named(request: web.Request) -> web.StreamResponse:
        name = request.query["as"]
        return web.Response(body=b"%PDF named", headers={"Content-Disposition": name})

    async def private(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if header != encode_basic_auth("camille", "mot de passe"):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="x"'})
        return web.Response(body=b"%PDF bulletin")

    async def status(request: web.Request) -> web.StreamResponse:
        return web.Response(status=int(request.match_info["code"]))

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(BIG)})
        await resp.prepare(request)
        for index in range(BIG // BLOCK):
            await resp.write(_block(index))
        return resp

    async def cut(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(10 * BLOCK)})
        await resp.prepare(request)
        await resp.write(_block(0))
        assert request.transport is not None
        request.transport.close()  # the server dies in the middle of the file
        return resp

    app = web.Application()
    app.router.add_get("/docs/releve.pdf", document)
    app.router.add_get("/named", named)
    app.router.add_get("/private/bulletin.pdf", private)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/big/archive.bin", big)
    app.router.add_get("/cut/archive.bin", cut)
    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """A web server on a loopback port, serving a document that changes when told."""
    served = Site()
    server = TestServer(make_app(served), host="127.0.0.1")
    await server.start_server()
    served.base = str(server.make_url("")).rstrip("/")
    yield served
    await server.close()


def web_account(core: Core, url: str, **fields: str) -> Account:
    """A url account for a document of the test site."""
    return Account(core, "url", "Web", {"url": url, "login": "", "password": "", "folder": "",
                                        **fields})


def on_drive(core: Core, path: str) -> bytes:
    return core.files.real_path(f"/Connectors/Web/{path}").read_bytes()


async def test_an_unchanged_document_is_not_downloaded_again(core: Core, site: Site) -> None:
    account = web_account(core, f"{site.base}/docs/releve.pdf", folder="Banque/Relevés")
    first = await account.run()
    assert (first.status, first.files) == ("ok", 1), first.summary()
    assert on_drive(core, "Banque/Relevés/releve.pdf") == site.document
    assert "If-None-Match" not in site.seen[0]

    second = await account.run()
    assert (second.status, second.files) == ("ok", 0)
    assert site.seen[1]["If-None-Match"] == '"v1"'
    assert site.seen[1]["If-Modified-Since"] == "Mon, 01 Dec 2026 08:00:00 GMT"
    assert "has not changed since the last run" in said(second)

    site.change(b"%PDF-1.4\n% releve v2, with March\n")
    third = await account.run()
    assert third.files == 1 and on_drive(core, "Banque/Relevés/releve.pdf") == site.document
    assert (await account.run()).files == 0


@pytest.mark.parametrize(("disposition", "name"), [
    ("attachment; filename*=UTF-8''Relev%C3%A9%20de%20mars.pdf", "Relevé de mars.pdf"),
    ('attachment; filename="../../etc/passwd"', "passwd"),
    ('inline; filename="facture:03/2026?.pdf"', "2026_.pdf"),
    ('attachment; filename="..."', "named"),
])
async def test_the_name_comes_from_the_server_made_safe(core: Core, site: Site,
                                                        disposition: str, name: str) -> None:
    from urllib.parse import quote
    out = await web_account(core, f"{site.base}/named?as={quote(disposition)}").run()
    assert out.status == "ok", out.summary()
    assert on_drive(core, name) == b"%PDF named"


async def test_http_basic_login(core: Core, site: Site) -> None:
    account = web_account(core, f"{site.base}/private/bulletin.pdf", login="camille")
    refused = await account.run(password="wrong")
    assert (refused.status, refused.error) == ("failed", "LOGIN_FAILED")
    assert "check the login and password" in refused.message
    ok = await account.run(password="mot de passe")
    assert ok.status == "ok" and on_drive(core, "bulletin.pdf") == b"%PDF bulletin"


@pytest.mark.parametrize(("code", "error"), [(403, "LOGIN_FAILED"), (404, "NOT_FOUND"),
                                             (410, "NOT_FOUND"), (500, "VENDOR_DOWN"),
                                             (503, "VENDOR_DOWN")])
async def test_http_errors_are_mapped(core: Core, site: Site, code: int, error: str) -> None:
    out = await web_account(core, f"{site.base}/status/{code}").run()
    assert (out.status, out.error, out.files) == ("failed", error, 0)
    assert f"answered {code}" in out.message


async def test_a_server_that_is_down_or_dies_midway_leaves_nothing(core: Core,
                                                                   site: Site) -> None:
    down = await web_account(core, f"http://127.0.0.1:{free_port()}/x.pdf").run()
    assert down.error == "VENDOR_DOWN" and "could not be downloaded" in down.message
    cut = await web_account(core, f"{site.base}/cut/archive.bin").run()
    assert (cut.status, cut.error, cut.files) == ("failed", "VENDOR_DOWN", 0)
    assert not (core.data_dir / "files" / "Connectors" / "Web" / "archive.bin").exists()


async def test_a_large_document_is_streamed(core: Core, site: Site) -> None:
    out = await web_account(core, f"{site.base}/big/archive.bin").run()
    assert (out.status, out.files) == ("ok", 1), out.summary()
    entry = await core.files.stat("/Connectors/Web/archive.bin")
    assert entry.size == BIG
    assert hashlib.sha256(on_drive(core, "archive.bin")).hexdigest() == big_digest()
    # Held whole, the document alone would take more memory than the run's peak.
    assert out.peak_mib is not None and out.peak_mib < BIG >> 20


async def test_added_and_run_from_the_connectors_page(box: TestClient,  # noqa: F811
                                                      site: Site) -> None:
    account_id = await add_account(box, "url", "Mon relevé", url=f"{site.base}/docs/releve.pdf",
                                   login="", password="", folder="Banque")
    text = await finished(box, await run_now(box, account_id))
    assert "Done" in text and "1 file saved" in text
    assert scheduler_of(box).accounts.get(account_id)["session"].startswith("v1.")
    again = await finished(box, await run_now(box, account_id))
    assert "has not changed since the last run" in again
    assert site.seen[-1]["If-None-Match"] == '"v1"'
