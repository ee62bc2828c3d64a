"""Fixtures shared by the whole suite: a data folder, the real app, a signed-in client."""
from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from appliance.app import create_app
from appliance.platform import Platform
from appliance.platform.disks import FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.services import Service
from appliance.settings import Settings

# In CI a skipped test fails the run (tests/realparts.py).
pytest_plugins = ["tests.realparts"]

PASSPHRASE = "correct horse battery staple"
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token a rendered page carries."""
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a box whose data lives in a fresh temporary folder."""
    return Settings(data=tmp_path / "data", host="127.0.0.1", port=0)


async def start_client(settings: Settings, services: Sequence[Service] | None = None,
                       *, clock: Callable[[], float] = time.time) -> TestClient:
    """Start the real app on a loopback port and return a client with its own cookies.

    `clock` is the wall clock the services read (a test moves it to cross a boundary).
    """
    platform = Platform(notifier=NullNotifier(), disks=FakeDisks(), clock=clock)
    app = create_app(settings, platform=platform, services=services)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    """An anonymous browser talking to a fresh box with the installed services."""
    c = await start_client(settings)
    yield c
    await c.close()


async def onboard(client: TestClient, *, passphrase: str = PASSPHRASE, name: str = "maison",
                  language: str = "en") -> None:
    """Set the box up through the onboarding form, as the owner would."""
    page = await client.get("/welcome")
    assert page.status == 200
    resp = await client.post("/welcome", data={
        "_csrf": csrf_of(await page.text()), "passphrase": passphrase,
        "passphrase2": passphrase, "name": name, "language": language})
    assert resp.status == 200, await resp.text()
    assert str(resp.url.path) == "/"


@pytest.fixture
async def owner(client: TestClient) -> TestClient:
    """A browser signed in as the owner of a box just set up."""
    await onboard(client)
    return client


@contextlib.asynccontextmanager
async def browser(client: TestClient) -> AsyncIterator[aiohttp.ClientSession]:
    """Open another browser, with its own cookies, on the same box."""
    async with aiohttp.ClientSession(base_url=client.make_url(""),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def page_csrf(client: TestClient | aiohttp.ClientSession, path: str = "/") -> str:
    """Return the CSRF token of a page the client can see."""
    resp = await client.get(path)
    return csrf_of(await resp.text())
