"""Every route refuses an anonymous request unless it is deliberately public."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.auth.tokens import Scope
from tests.conftest import onboard

# The whole list of what an anonymous visitor may reach. Adding to it is a decision.
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/welcome"), ("POST", "/welcome"),
    ("GET", "/login"), ("POST", "/login"), ("POST", "/lang"),
    ("GET", "/https"), ("GET", "/https/hearth-ca.crt"),
    # moving a Hearth onto a box with no owner yet (tests/backup/box/test_move.py)
    ("GET", "/welcome/restore"), ("POST", "/welcome/restore"), ("GET", "/welcome/restore/status"),
    # share links: what a visitor with the link sees (tests/services/test_sharing.py)
    ("GET", "/s/{token}"), ("POST", "/s/{token}"), ("GET", "/s/{token}/in/{sub}"),
    ("GET", "/s/{token}/download"), ("GET", "/s/{token}/download/{sub}"),
}
SAMPLES = {"doctype": "io.hearth.bookmarks", "docid": "abc123", "filename": "hearth.css",
           "id": "abc123", "token": "x" * 32, "sub": "a"}


# What a catch-all route (WebDAV's) is asked with.
ANY_METHOD = ("GET", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
              "LOCK", "UNLOCK", "POST")


def walk(app: web.Application) -> Iterator[tuple[str, str, web.AbstractRoute]]:
    """Yield (method, path pattern, route) for every route, sub-applications included."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from walk(resource._app)  # its resources already carry the prefix
            continue
        pattern = resource.canonical
        if isinstance(resource, web.StaticResource):
            continue  # stylesheets and scripts: public by nature, checked below
        for route in resource:
            methods = ANY_METHOD if route.method == "*" else (route.method,)
            for method in methods:
                if method != "HEAD":
                    yield method, pattern, route


def concrete(pattern: str) -> str:
    return re.sub(r"\{(\w+)[^}]*\}", lambda m: SAMPLES.get(m.group(1), "x"), pattern)


async def test_every_private_route_refuses_anonymous_requests(client: TestClient) -> None:
    await onboard(client)
    client.session.cookie_jar.clear()  # now a stranger
    routes = list(walk(client.app))
    assert len(routes) > 15 and any(p.startswith("/apps/") for _, p, _ in routes)
    seen_public = set()
    for method, pattern, _route in routes:
        resp = await client.request(method, concrete(pattern), allow_redirects=False,
                                    headers={"Accept": "application/json"})
        if (method, pattern) in PUBLIC:
            seen_public.add((method, pattern))
            continue
        assert resp.status == 401, f"{method} {pattern} answered {resp.status} to a stranger"
        if getattr(_route.handler, "hearth_devices", False):  # WebDAV: clients ask for Basic
            assert resp.headers["WWW-Authenticate"].startswith("Basic ")
        else:
            assert "Sign in" in (await resp.json())["error"]
        html = await client.request(method, concrete(pattern), allow_redirects=False,
                                    headers={"Accept": "text/html"})
        assert html.status in (303, 401), f"{method} {pattern}: {html.status}"
    assert seen_public == PUBLIC  # the public list is exactly what the router has


async def test_routes_marked_public_are_only_the_listed_ones(client: TestClient) -> None:
    marked = {(m, p) for m, p, r in walk(client.app) if getattr(r.handler, "hearth_public", False)}
    assert marked == PUBLIC


def _static(app: web.Application) -> Iterator[web.StaticResource]:
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from _static(resource._app)
        elif isinstance(resource, web.StaticResource):
            yield resource


async def test_static_folders_hold_only_code_and_styles(client: TestClient) -> None:
    folders = [Path(r._directory) for r in _static(client.app)]
    assert folders
    for folder in folders:
        assert "static" in folder.parts and "files" not in folder.parts
        kinds = {p.suffix for p in folder.rglob("*") if p.is_file()}
        assert kinds <= {".css", ".js", ".svg", ".png", ".woff2"}, (folder, kinds)


async def test_tokens_open_nothing_but_the_data_api(client: TestClient) -> None:
    await onboard(client)
    core = client.app[keys.CORE]
    plaintext, _ = await core.tokens.create("all", [Scope.parse("io.hearth.bookmarks")])
    client.session.cookie_jar.clear()
    headers = {"Authorization": f"Bearer {plaintext}", "Accept": "application/json"}
    for method, pattern, route in walk(client.app):
        if (method, pattern) in PUBLIC:
            continue
        resp = await client.request(method, concrete(pattern), headers=headers,
                                    allow_redirects=False)
        if getattr(route.handler, "hearth_tokens", False):
            assert pattern.startswith("/data/")
            assert resp.status != 403 or "may not" in (await resp.json())["error"]
        else:
            assert resp.status == 403, f"a token opened {method} {pattern}"


async def test_unknown_or_revoked_tokens_are_refused(client: TestClient) -> None:
    await onboard(client)
    core = client.app[keys.CORE]
    plaintext, token = await core.tokens.create("t", [Scope.parse("io.hearth.bookmarks")])
    client.session.cookie_jar.clear()
    ok = await client.post("/data/io.hearth.bookmarks/_find", json={"selector": {}},
                           headers={"Authorization": f"Bearer {plaintext}"})
    assert ok.status == 200
    await core.tokens.revoke(token.id)
    for bad in (plaintext, "hth_nope", "garbage"):
        resp = await client.post("/data/io.hearth.bookmarks/_find", json={"selector": {}},
                                 headers={"Authorization": f"Bearer {bad}"})
        assert resp.status == 401, bad


async def test_a_revoked_device_is_refused_at_once_though_it_was_let_in_before(
        client: TestClient) -> None:
    await onboard(client)
    core = client.app[keys.CORE]
    password, device = await core.devices.add("Laptop")
    client.session.cookie_jar.clear()
    asking = {"Authorization": aiohttp.encode_basic_auth("Laptop", password), "Depth": "0"}
    for _ in range(3):  # let in again and again, as a sync client is
        assert (await client.request("PROPFIND", "/dav/", headers=asking)).status == 207
    await core.devices.revoke(device.id)
    assert (await client.request("PROPFIND", "/dav/", headers=asking)).status == 401
    again, _ = await core.devices.add("Laptop")  # the same name, a new password
    assert (await client.request("PROPFIND", "/dav/", headers=asking)).status == 401
    asking["Authorization"] = aiohttp.encode_basic_auth("Laptop", again)
    assert (await client.request("PROPFIND", "/dav/", headers=asking)).status == 207


async def test_broken_forms_and_odd_tokens_get_a_refusal_not_a_crash(client: TestClient) -> None:
    # A multipart part whose header line is far too long (aiohttp raises LineTooLong),
    # sent to a public form: refused as a form without its token, not a server error.
    long_header = (b'--y\r\nContent-Disposition: form-data; name="' + b"a" * 70_000
                   + b'"\r\n\r\nx\r\n--y--\r\n')
    resp = await client.post("/login", data=long_header,
                             headers={"Content-Type": "multipart/form-data; boundary=y"})
    assert resp.status == 403
    # A token with letters no token has (compare_digest refuses non-ASCII text).
    resp = await client.post("/login", data={"passphrase": "x"},
                             headers={"X-CSRF-Token": "\u00e9" * 32})
    assert resp.status == 403


async def test_every_state_changing_route_refuses_a_signed_in_request_without_its_token(
        client: TestClient) -> None:
    await onboard(client)  # signed in: the session cookie a browser sends with any request
    changing = [(method, pattern) for method, pattern, _route in walk(client.app)
                if method not in ("GET", "OPTIONS")]
    assert len(changing) > 40 and ("PUT", "/dav/{path}") in changing
    for method, pattern in changing:
        resp = await client.request(method, concrete(pattern), allow_redirects=False,
                                    headers={"Accept": "application/json"})
        assert resp.status == 403, f"{method} {pattern} answered {resp.status} without a token"
        assert "did not come from this box" in (await resp.json())["error"], (method, pattern)
    home = await client.get("/")
    assert home.status == 200  # still signed in: each refusal was for the missing token


async def test_another_site_cannot_use_the_basic_credentials_a_browser_keeps_for_webdav(
        client: TestClient) -> None:
    await onboard(client)
    password, _device = await client.app[keys.CORE].devices.add("Laptop")
    client.session.cookie_jar.clear()
    basic = {"Authorization": aiohttp.encode_basic_auth("Laptop", password)}
    evil = {**basic, "Origin": "http://evil.example"}
    for method in ("POST", "PUT", "DELETE", "MKCOL", "MOVE", "PROPPATCH", "LOCK"):
        resp = await client.request(method, "/dav/report.txt", data=b"stolen", headers={
            **evil, "Destination": "/dav/elsewhere.txt"})
        assert resp.status == 403, f"{method} from another site answered {resp.status}"
    assert (await client.request("PROPFIND", "/dav/report.txt",
                                 headers={**basic, "Depth": "0"})).status == 404
    # The same device, from its own sync client (no Origin) or from this box's pages.
    own = f"http://{client.host}:{client.port}"
    assert (await client.put("/dav/report.txt", data=b"mine", headers=basic)).status == 201
    assert (await client.put("/dav/report.txt", data=b"again",
                             headers={**basic, "Origin": own})).status == 204
