"""The connectors service: accounts added through forms made from manifests, runs, answers."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from appliance.app import create_app
from appliance.keys import SCHEDULER
from appliance.running import scheduler_ctx
from appliance.jobs.scheduler import Scheduler
from appliance.platform import Platform
from appliance.platform.disks import FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.conftest import onboard, page_csrf
from tests.jobs.conftest import split_settings, toys  # noqa: F401  (fixtures)

SECRET = "hunter2-secret-XYZ"
ACCOUNT_PAGE = re.compile(r"/apps/connectors/accounts/([0-9a-f]{32})$")


@pytest.fixture
async def box(split_settings: Settings, toys: Path) -> AsyncIterator[TestClient]:
    """The real app with the connector scheduler, and its owner signed in."""
    app = create_app(split_settings, platform=Platform(notifier=NullNotifier(),
                                                       disks=FakeDisks()))
    assert scheduler_ctx in app.cleanup_ctx
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    await onboard(client)
    yield client
    await client.close()


def scheduler_of(client: TestClient) -> Scheduler:
    return client.app[SCHEDULER]


async def add_account(client: TestClient, slug: str, label: str, **fields: str) -> str:
    csrf = await page_csrf(client, f"/apps/connectors/new/{slug}")
    resp = await client.post(f"/apps/connectors/new/{slug}",
                             data={"_csrf": csrf, "label": label, **fields})
    assert resp.status == 200, await resp.text()
    found = ACCOUNT_PAGE.search(str(resp.url.path))
    assert found, resp.url
    return found.group(1)


async def run_now(client: TestClient, account_id: str) -> str:
    csrf = await page_csrf(client, f"/apps/connectors/accounts/{account_id}")
    resp = await client.post(f"/apps/connectors/accounts/{account_id}/run",
                             data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    return resp.headers["Location"].rsplit("/", 1)[1]


async def finished(client: TestClient, run_id: str) -> str:
    live = scheduler_of(client).live.get(run_id)
    if live is not None and live.task is not None:
        await asyncio.wait_for(asyncio.shield(live.task), 30)
    return await (await client.get(f"/apps/connectors/runs/{run_id}")).text()


async def test_the_form_comes_from_the_manifest_and_secrets_are_never_shown(
        box: TestClient, split_settings: Settings) -> None:
    index = await (await box.get("/apps/connectors/")).text()
    assert "Bank statements" in index and 'href="new/toy-good"' in index
    form = await (await box.get("/apps/connectors/new/toy-good")).text()
    assert 'name="login" type="text"' in form
    assert 'name="password" type="password"' in form and 'autocomplete="new-password"' in form
    account_id = await add_account(box, "toy-good", "Mes notes", login="xxxx", password=SECRET)
    page = await (await box.get(f"/apps/connectors/accounts/{account_id}")).text()
    assert "Mes notes" in page and SECRET not in page
    assert "Saved. Leave empty to keep it." in page
    doc = scheduler_of(box).accounts.get(account_id)
    assert doc is not None and doc["fields"] == {"login": "xxxx"}
    assert doc["sealed"]["password"].startswith("v1.")

    run_id = await run_now(box, account_id)
    text = await finished(box, run_id)
    assert "Done" in text and "io.hearth.toy.notes: 4 new" in text
    assert "1 file saved" in text and "logged in as xxxx" in text
    doc = scheduler_of(box).accounts.get(account_id)
    assert doc["state"] == "ok" and doc["session"].startswith("v1.")
    # Nothing on the data disk holds the password or the session in clear; the key is elsewhere.
    for path in Path(split_settings.data).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"session-cookie-ABC" not in data, path
    assert not list(Path(split_settings.data).rglob("keyring"))
    assert (split_settings.system / "keyring").stat().st_mode & 0o777 == 0o600

    # Saving with the password left empty keeps it; a new one replaces it and the session.
    csrf = await page_csrf(box, f"/apps/connectors/accounts/{account_id}")
    await box.post(f"/apps/connectors/accounts/{account_id}",
                   data={"_csrf": csrf, "label": "Mes notes", "login": "xxxx", "password": ""})
    kept = scheduler_of(box).accounts.get(account_id)
    assert kept["sealed"] == doc["sealed"] and kept["session"] == doc["session"]
    await box.post(f"/apps/connectors/accounts/{account_id}",
                   data={"_csrf": csrf, "label": "Mes notes", "login": "xxxx", "password": "new"})
    changed = scheduler_of(box).accounts.get(account_id)
    assert changed["sealed"] != doc["sealed"] and changed["session"] is None


async def test_bad_values_are_refused_in_plain_words(box: TestClient) -> None:
    csrf = await page_csrf(box, "/apps/connectors/new/bank-statements")
    resp = await box.post("/apps/connectors/new/bank-statements",
                          data={"_csrf": csrf, "label": "", "path": "", "currency": "euros"})
    assert resp.status == 400
    assert "path is required." in await resp.text()
    first = await add_account(box, "bank-statements", "Banque", path="/Bank", currency="EUR")
    resp = await box.post("/apps/connectors/new/bank-statements",
                          data={"_csrf": csrf, "label": "Banque", "path": "/B", "currency": "EUR"})
    assert resp.status == 400 and "Another account is already called Banque" in await resp.text()
    # The folder does not exist yet: the run says so, and the account waits for the owner.
    text = await finished(box, await run_now(box, first))
    assert "there is no /Bank in the Drive" in text
    assert scheduler_of(box).accounts.get(first)["state"] == "needs_user"


async def until(ready: Callable[[], bool], seconds: float = 10) -> None:
    """Wait until a run in progress shows what `ready` looks for."""
    for _ in range(int(seconds / 0.05)):
        if ready():
            return
        await asyncio.sleep(0.05)


async def test_a_two_factor_question_is_answered_in_the_page(box: TestClient) -> None:
    account_id = await add_account(box, "toy-asks", "Deux facteurs", login="me", password="pw")
    run_id = await run_now(box, account_id)
    live = scheduler_of(box).live[run_id]
    await until(lambda: bool(live.outcome.question))
    page = await (await box.get(f"/apps/connectors/runs/{run_id}")).text()
    assert "Type the code sent by SMS" in page and 'name="answer"' in page
    csrf = await page_csrf(box, f"/apps/connectors/runs/{run_id}")
    await box.post(f"/apps/connectors/runs/{run_id}/answer",
                   data={"_csrf": csrf, "answer": "123456"})
    text = await finished(box, run_id)
    assert "Done" in text and "io.hearth.toy.notes: 1 new" in text


async def test_a_refused_login_shows_on_the_account_and_in_notifications(box: TestClient) -> None:
    account_id = await add_account(box, "toy-login", "Banque en ligne", login="me", password="x")
    text = await finished(box, await run_now(box, account_id))
    assert "LOGIN_FAILED" in text and "the vendor refused this password" in text
    page = await (await box.get(f"/apps/connectors/accounts/{account_id}")).text()
    assert "Needs you" in page and "refused the login or the password" in page
    notes = await (await box.get("/notifications")).text()
    assert "login was refused: open the account to check its login and password" in notes and "Banque en ligne" in notes
    assert f'href="/apps/connectors/accounts/{account_id}"' in notes
    csrf = await page_csrf(box, f"/apps/connectors/accounts/{account_id}")
    await box.post(f"/apps/connectors/accounts/{account_id}/delete", data={"_csrf": csrf})
    assert scheduler_of(box).accounts.get(account_id) is None


async def test_stopping_hearth_stops_a_run_in_progress(split_settings: Settings,
                                                       toys: Path) -> None:
    app = create_app(split_settings, platform=Platform(notifier=NullNotifier(),
                                                       disks=FakeDisks()))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    await onboard(client)
    account_id = await add_account(client, "toy-hang", "Bloqué", login="x", password="y")
    run_id = await run_now(client, account_id)
    live = scheduler_of(client).live[run_id]
    await until(lambda: bool(live.outcome.log))
    runner = int(live.outcome.log[0]["message"].split()[1])
    await client.close()
    assert not Path(f"/proc/{runner}").exists() or \
        Path(f"/proc/{runner}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
