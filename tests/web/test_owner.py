"""The owner's way in: onboarding, sign in and out, throttling, CSRF, passphrase change."""
from __future__ import annotations

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from appliance import keys
from tests.conftest import PASSPHRASE, browser, csrf_of, page_csrf


async def test_first_visit_shows_onboarding(client: TestClient) -> None:
    resp = await client.get("/", headers={"Accept": "text/html"})
    assert resp.status == 200 and resp.url.path == "/welcome"
    assert "Welcome to your Hearth" in await resp.text()


async def test_onboarding_refuses_weak_or_mismatched_passphrases(client: TestClient) -> None:
    csrf = await page_csrf(client, "/welcome")
    weak = await client.post("/welcome", data={"_csrf": csrf, "passphrase": "hearth123",
                                               "passphrase2": "hearth123", "name": "maison",
                                               "language": "en"})
    assert weak.status == 400 and "too short" in await weak.text()
    differ = await client.post("/welcome", data={"_csrf": csrf, "passphrase": PASSPHRASE,
                                                 "passphrase2": PASSPHRASE + "!",
                                                 "name": "maison", "language": "en"})
    assert differ.status == 400 and "differ" in await differ.text()
    bad_name = await client.post("/welcome", data={"_csrf": csrf, "passphrase": PASSPHRASE,
                                                   "passphrase2": PASSPHRASE,
                                                   "name": "../etc", "language": "en"})
    assert bad_name.status == 400 and "letters a–z" in await bad_name.text()


async def test_onboarding_signs_in_with_a_safe_cookie(client: TestClient) -> None:
    csrf = await page_csrf(client, "/welcome")
    resp = await client.post("/welcome", allow_redirects=False, data={
        "_csrf": csrf, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE,
        "name": "Maison-Dupont", "language": "en"})
    assert resp.status == 303
    cookie = next(c for c in resp.headers.getall("Set-Cookie") if "hearth_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; the HTTPS test checks Secure
    page = await client.get("/")
    assert page.status == 200 and "maison-dupont" in await page.text()
    again = await client.get("/welcome")
    assert again.url.path == "/"  # onboarding happens once


async def test_onboarding_cannot_be_replayed(owner: TestClient) -> None:
    async with browser(owner) as stranger:
        csrf = await page_csrf(stranger, "/login")
        resp = await stranger.post("/welcome", data={
            "_csrf": csrf, "passphrase": "an evil new one", "passphrase2": "an evil new one",
            "name": "pwned", "language": "en"}, allow_redirects=False)
    assert resp.status == 303
    page = await owner.get("/settings")
    assert "pwned" not in await page.text()


async def test_logout_then_login(owner: TestClient) -> None:
    csrf = await page_csrf(owner)
    out = await owner.post("/logout", data={"_csrf": csrf})
    assert out.url.path == "/login"
    private = await owner.get("/settings", headers={"Accept": "text/html"})
    assert private.url.path == "/login"
    csrf = csrf_of(await private.text())
    wrong = await owner.post("/login", data={"_csrf": csrf, "passphrase": "nope nope nope",
                                             "next": "/settings"})
    assert wrong.status == 401 and "Wrong passphrase" in await wrong.text()
    good = await owner.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE,
                                            "next": "/settings"})
    assert good.status == 200 and good.url.path == "/settings"


async def test_login_never_redirects_off_the_box(owner: TestClient) -> None:
    await owner.post("/logout", data={"_csrf": await page_csrf(owner)})
    csrf = await page_csrf(owner, "/login")
    resp = await owner.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE,
                                            "next": "//evil.example/steal"},
                            allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"


async def test_repeated_failures_are_slowed_down(owner: TestClient) -> None:
    await owner.post("/logout", data={"_csrf": await page_csrf(owner)})
    csrf = await page_csrf(owner, "/login")
    statuses, texts = [], []
    for _ in range(5):
        resp = await owner.post("/login", data={"_csrf": csrf, "passphrase": "guess guess"})
        statuses.append(resp.status)
        texts.append(await resp.text())
    assert statuses[:4] == [401, 401, 401, 401]
    assert "Wait 1 seconds" in texts[3]
    assert statuses[4] == 429 and "Too many wrong passphrases" in texts[4]
    # Even the right passphrase waits: the delay is not a hint.
    blocked = await owner.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE})
    assert blocked.status == 429


async def test_state_changes_need_the_csrf_token(owner: TestClient) -> None:
    missing = await owner.post("/settings/box", data={"name": "stolen"})
    assert missing.status == 403
    forged = await owner.post("/settings/box", data={"name": "stolen", "_csrf": "x" * 32})
    assert forged.status == 403
    csrf = await page_csrf(owner)
    cross = await owner.post("/settings/box", data={"name": "stolen", "_csrf": csrf},
                             headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    fine = await owner.post("/settings/box", data={"name": "renamed", "_csrf": csrf,
                                                   "language": "en"})
    assert fine.status == 200 and "renamed" in await fine.text()
    anonymous_login = await owner.post("/login", data={"passphrase": PASSPHRASE})
    assert anonymous_login.status == 403


async def test_changing_the_passphrase_signs_out_other_browsers(owner: TestClient) -> None:
    async with browser(owner) as phone:
        await _passphrase_change_with(owner, phone)


async def _passphrase_change_with(other: TestClient, phone: ClientSession) -> None:
    csrf = await page_csrf(phone, "/login")
    await phone.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE})
    assert (await phone.get("/settings")).url.path == "/settings"
    csrf = await page_csrf(other, "/settings")
    resp = await other.post("/settings/passphrase", data={
        "_csrf": csrf, "current": PASSPHRASE, "new": "a brand new passphrase",
        "new2": "a brand new passphrase"})
    assert resp.status == 200 and "1 other browser was signed out" in await resp.text()
    assert (await phone.get("/settings", headers={"Accept": "text/html"})).url.path == "/login"
    assert (await other.get("/settings")).url.path == "/settings"


async def test_wrong_current_passphrase_changes_nothing(owner: TestClient) -> None:
    csrf = await page_csrf(owner, "/settings")
    resp = await owner.post("/settings/passphrase", data={
        "_csrf": csrf, "current": "not the one at all", "new": "a brand new passphrase",
        "new2": "a brand new passphrase"})
    assert resp.status == 400 and "current passphrase is wrong" in await resp.text()


async def test_sessions_are_listed_and_can_be_ended(owner: TestClient) -> None:
    async with browser(owner) as phone:
        await _end_session_of(owner, phone)


async def _end_session_of(owner: TestClient, phone: ClientSession) -> None:
    csrf = await page_csrf(phone, "/login")
    await phone.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE},
                     headers={"User-Agent": "PhoneBrowser/1.0"})
    page = await (await owner.get("/settings")).text()
    assert "PhoneBrowser/1.0" in page and "This browser" in page
    phone_id = page.split("PhoneBrowser/1.0")[1].split('name="id" value="')[1].split('"')[0]
    await owner.post("/settings/sessions/end", data={"_csrf": csrf_of(page), "id": phone_id})
    assert (await phone.get("/settings", headers={"Accept": "text/html"})).url.path == "/login"


async def test_while_the_data_is_out_of_reach_pages_say_so_and_writes_wait(
        owner: TestClient) -> None:
    core = owner.app[keys.CORE]
    csrf = await page_csrf(owner, "/settings")
    data_dir = core.data_dir
    await core.detach("Your data disk was unplugged. Plug it back in.")
    page = await owner.get("/settings", headers={"Accept": "text/html"})
    assert page.status == 503 and "Plug it back in" in await page.text()
    # a page inside the shell, which reloads itself, not a bare message
    assert page.content_type == "text/html" and page.headers["Retry-After"] == "10"
    assert "Your data is out of reach" in await page.text()
    write = await owner.post("/data/io.hearth.x.y/", json={"a": 1},
                             headers={"X-CSRF-Token": csrf})
    assert write.status == 503 and "Nothing was changed" in (await write.json())["error"]
    health = await (await owner.get("/healthz")).json()
    assert health["data"] == "unavailable"
    await core.attach(data_dir)
    assert (await owner.get("/settings")).status == 200  # the same session still works
    assert (await (await owner.get("/healthz")).json())["data"] == "ok"


async def test_devices_get_an_app_password_shown_once(owner: TestClient) -> None:
    csrf = await page_csrf(owner, "/settings")
    made = await owner.post("/settings/devices", data={"_csrf": csrf, "name": "Laptop Marie"})
    page = await made.text()
    assert made.status == 200 and "/dav/" in page
    password = page.split('data-testid="app-password">')[1].split("<")[0]
    core = owner.app[keys.CORE]
    assert core.devices.verify("Laptop Marie", password) is not None
    assert core.devices.verify("Laptop Marie", PASSPHRASE) is None
    again = await (await owner.get("/settings")).text()
    assert "Laptop Marie" in again and password not in again
    dup = await owner.post("/settings/devices", data={"_csrf": csrf, "name": "Laptop Marie"})
    assert dup.status == 400 and "already a device" in await dup.text()
    device = core.devices.list()[0]
    await owner.post("/settings/devices/revoke", data={"_csrf": csrf, "id": device.id})
    assert core.devices.verify("Laptop Marie", password) is None
