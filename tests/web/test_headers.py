"""What every answer tells the browser, and what it never tells an anonymous visitor."""
from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance import __version__
from appliance.web.headers import PAGE_POLICY


def _assert_secured(resp_headers: object) -> None:
    headers = dict(resp_headers)  # type: ignore[call-overload]
    assert headers["Content-Security-Policy"] == PAGE_POLICY
    assert "script-src 'self'" in PAGE_POLICY and "frame-ancestors 'none'" in PAGE_POLICY
    assert "unsafe-inline" not in PAGE_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Server"] == "Hearth"


async def test_pages_errors_and_redirects_carry_the_security_headers(client: TestClient) -> None:
    welcome = await client.get("/welcome", headers={"Accept": "text/html"})
    assert welcome.status == 200
    _assert_secured(welcome.headers)
    missing = await client.get("/no/such/page", headers={"Accept": "text/html"})
    assert missing.status == 404
    _assert_secured(missing.headers)
    moved = await client.get("/login", allow_redirects=False)
    assert moved.status == 303
    _assert_secured(moved.headers)


async def test_a_share_link_s_pages_tell_other_sites_nothing(owner: TestClient) -> None:
    visit = await owner.get("/s/" + "A" * 32, headers={"Accept": "text/html"})
    assert visit.status in (404, 410)
    _assert_secured(visit.headers)


async def test_anonymous_answers_name_no_version(client: TestClient) -> None:
    for path in ("/healthz", "/welcome", "/login", "/welcome/restore/status"):
        resp = await client.get(path, headers={"Accept": "text/html"})
        assert __version__ not in await resp.text(), path
        assert all(__version__ not in value for value in resp.headers.values()), path
        assert "aiohttp" not in resp.headers.get("Server", ""), path


async def test_the_move_s_progress_is_closed_once_the_box_has_an_owner(
        client: TestClient, owner: TestClient) -> None:
    status = await owner.get("/welcome/restore/status", headers={"Accept": "application/json"})
    assert status.status == 404
