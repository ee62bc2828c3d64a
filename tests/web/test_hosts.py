"""DNS rebinding: a page whose name resolves to the box is refused before anything is checked."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from appliance.settings import Settings
from appliance.web.hosts import host_name
from tests.conftest import PASSPHRASE, csrf_of, onboard, start_client

EVIL = {"Host": "evil.example"}


@pytest.mark.parametrize(("header", "name"), [
    ("maison.local", "maison.local"), ("Maison.Local.:8080", "maison.local"),
    ("[::1]:8080", "::1"), ("[fe80::1]", "fe80::1"), ("127.0.0.1:80", "127.0.0.1"),
    ("::1", "::1"), ("evil.example:443", "evil.example"),
])
def test_the_name_is_read_without_its_port(header: str, name: str) -> None:
    assert host_name(header) == name


async def test_a_rebound_page_cannot_set_up_a_fresh_box(client: TestClient) -> None:
    page = await client.get("/welcome", headers=EVIL)
    assert page.status == 421
    assert "does not answer to that name" in await page.text()
    # even with a real token, fetched under the box's own name, the form is refused
    token = csrf_of(await (await client.get("/welcome")).text())
    resp = await client.post("/welcome", headers=EVIL, allow_redirects=False, data={
        "_csrf": token, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE,
        "name": "pwned", "language": "en"})
    assert resp.status == 421
    assert "hearth_session" not in resp.cookies
    assert (await client.get("/welcome")).status == 200  # still not set up


async def test_a_rebound_page_gets_no_guess_checked(owner: TestClient,
                                                    checked: list[str]) -> None:
    for path in ("/login", "/", "/healthz", "/static/hearth.css", "/data/io.hearth.bookmarks"):
        assert (await owner.get(path, headers=EVIL)).status == 421, path
    resp = await owner.post("/login", headers=EVIL,
                            data={"passphrase": "guess", "_csrf": "x"})
    assert resp.status == 421
    assert checked == []


@pytest.mark.parametrize("host", ["maison.local", "MAISON.local:8080", "hearth.local",
                                  "localhost", "localhost:1234", "127.0.0.1", "[::1]:80",
                                  "box.lan"])
async def test_the_box_answers_to_its_own_names(tmp_path: Path, host: str) -> None:
    client = await start_client(Settings(data=tmp_path / "data", host="127.0.0.1", port=0,
                                         allowed_hosts=("box.lan",)))
    try:
        await onboard(client)
        resp = await client.get("/", headers={"Host": host})
        assert resp.status == 200, await resp.text()
        assert (await client.get("/", headers={"Host": "other.lan"})).status == 421
    finally:
        await client.close()


async def test_an_address_of_the_box_passes_and_another_does_not(client: TestClient) -> None:
    assert (await client.get("/healthz", headers={"Host": "127.0.0.1"})).status == 200
    assert (await client.get("/healthz", headers={"Host": "192.0.2.7"})).status == 421
