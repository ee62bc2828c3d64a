"""Settings › Update: a signed wheel uploaded from the page reaches the root updater, and the
page follows it to the end; anything else is refused at once and nothing is handed over."""
from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from playwright.sync_api import Page, expect

import appliance
from appliance.settings import Settings
from appliance.updater.pending import apply_pending
from appliance.updater.signature import new_key, sign
from appliance.updater.status import UpdateStatus
from appliance.updater.versions import MAX_UPDATE_BYTES
from tests.conftest import onboard, page_csrf, start_client
from tests.updates import Box, ServeRestarter, base_release, fake_wheel, make_box
from tests.web.conftest import Box as ServedBox, NewContext
from tests.web.test_browser import set_up_box

__all__ = ["base_release"]  # a fixture

Upload = tuple[str, bytes]


@pytest.fixture
def signed_box(tmp_path: Path, base_release: Path) -> Box:
    return make_box(tmp_path, base_release)


@pytest.fixture
def settings(tmp_path: Path, signed_box: Box) -> Settings:
    """A box with an updater: update keys, and the root side's status file."""
    return Settings(data=tmp_path / "data", host="127.0.0.1", port=0,
                    update_keys=signed_box.keys, update_status=tmp_path / "root" / "status.json")


def pending_of(tmp_path: Path) -> Path:
    return tmp_path / "data" / "system" / "updates" / "pending"


def as_uploads(*files: Path) -> list[Upload]:
    return [(f.name, f.read_bytes()) for f in files]


def both(wheel: Path) -> list[Upload]:
    """The two files the owner picks: the wheel and its signature."""
    return as_uploads(wheel, wheel.with_name(wheel.name + ".sig"))


async def upload(client: TestClient, files: list[Upload], *,
                 csrf: str | None = None) -> aiohttp.ClientResponse:
    """Send the Update form as the browser does: the CSRF field first, then the files."""
    form = aiohttp.FormData()
    form.add_field("_csrf", csrf if csrf is not None else await page_csrf(client, "/settings"))
    for name, data in files:
        form.add_field("files", io.BytesIO(data), filename=name,
                       content_type="application/octet-stream")
    return await client.post("/settings/update", data=form, allow_redirects=False)


def updater(box: Box, tmp_path: Path) -> UpdateStatus | None:
    """Do what hearth-update.service does when the signature lands in pending/."""
    return apply_pending(pending_of(tmp_path), work=tmp_path / "root" / "work",
                         status=tmp_path / "root" / "status.json", keys=box.keys,
                         releases=box.releases,
                         restarter=ServeRestarter(box.releases.current_link,
                                                  tmp_path / "box-data"), timeout=60)


async def run_updater(box: Box, tmp_path: Path) -> UpdateStatus | None:
    """Run the updater off the event loop, as another process would."""
    return await asyncio.to_thread(updater, box, tmp_path)


async def status_of(client: TestClient) -> dict[str, object]:
    resp = await client.get("/settings/update/status")
    assert resp.status == 200
    found: dict[str, object] = await resp.json()
    assert found["running"] == appliance.__version__
    return found


@pytest.mark.timeout(300)
async def test_an_update_goes_from_the_page_to_the_updater_and_its_end_is_shown(
        owner: TestClient, signed_box: Box, tmp_path: Path) -> None:
    page = await (await owner.get("/settings")).text()
    assert f"This box runs Hearth {appliance.__version__}." in page
    assert 'name="files" multiple accept=".whl,.sig"' in page
    assert "No update was installed from this page yet." in page

    resp = await upload(owner, both(signed_box.signed(tmp_path, "0.2.0")))
    assert resp.status == 303 and resp.headers["Location"] == "/settings#update"
    assert sorted(os.listdir(pending_of(tmp_path))) == [
        "hearthbox-0.2.0-py3-none-any.whl", "hearthbox-0.2.0-py3-none-any.whl.sig"]
    waiting = await status_of(owner)
    assert (waiting["state"], waiting["version"]) == ("waiting", "0.2.0")
    assert "Hearth 0.2.0 is uploaded and waits for the box's updater." == waiting["message"]

    await run_updater(signed_box, tmp_path)
    done = await status_of(owner)
    assert (done["state"], done["message"]) == ("done", "Hearth 0.2.0 was installed.")
    assert isinstance(done["at"], float) and done["at"] > 0

    broken = signed_box.signed(tmp_path, "0.3.0", "raise SystemExit('broken')\n")
    assert (await upload(owner, both(broken))).status == 303
    await run_updater(signed_box, tmp_path)
    back = await status_of(owner)
    undone = "Hearth 0.3.0 did not start and was undone; 0.2.0 runs again."
    assert (back["state"], back["message"]) == ("rolled-back", undone)
    assert undone in await (await owner.get("/settings")).text()
    assert signed_box.releases.current().name == "0.2.0"


def bad_upload(kind: str, box: Box, folder: Path) -> list[Upload]:
    """Return the files of one kind of upload the box must refuse."""
    good = box.signed(folder, "0.2.0")
    if kind == "only the wheel":
        return as_uploads(good)
    if kind == "only the signature":
        return both(good)[1:]
    if kind == "signature of another update":
        return [both(good)[0], ("hearthbox-0.2.1-py3-none-any.whl.sig", both(good)[1][1])]
    if kind == "foreign key":
        new_key(folder / "other.key", folder / "other.pem")
        sign(good, folder / "other.key")
        return both(good)
    if kind == "not newer":
        return both(box.signed(folder, appliance.__version__))
    if kind == "hostile name":
        return [("../hearthbox-0.2.0-py3-none-any.whl", good.read_bytes()), both(good)[1]]
    if kind == "folder in the version":
        return [("hearthbox-0.2/../../x-py3-none-any.whl", good.read_bytes()), both(good)[1]]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, says", [
    ("only the wheel", "Choose the two files of one update"),
    ("only the signature", "Choose the two files of one update"),
    ("signature of another update", "Choose the two files of one update"),
    ("foreign key", "hearthbox-0.2.0-py3-none-any.whl is not signed by a key this box trusts."),
    ("not newer", f"Hearth {appliance.__version__} is not newer than the version running"),
    ("hostile name", "is not a Hearth update."),  # aiohttp's client sends it as ..%2Fhearthbox…
    ("folder in the version", "is not a Hearth update."),
])
async def test_a_wrong_upload_is_refused_on_the_page_and_nothing_is_handed_over(
        owner: TestClient, signed_box: Box, tmp_path: Path, kind: str, says: str) -> None:
    resp = await upload(owner, bad_upload(kind, signed_box, tmp_path))
    assert resp.status == 400
    page = await resp.text()
    assert says in page and 'role="alert"' in page
    updates = pending_of(tmp_path).parent
    assert not pending_of(tmp_path).exists() and os.listdir(updates) == []  # no leftovers
    assert (await status_of(owner))["state"] == "idle"


async def test_an_oversized_upload_is_refused_before_it_fills_the_disk(
        owner: TestClient, tmp_path: Path) -> None:
    huge = [("hearthbox-0.2.0-py3-none-any.whl", b"\0" * (MAX_UPDATE_BYTES + 1)),
            ("hearthbox-0.2.0-py3-none-any.whl.sig", b"\0" * 64)]
    resp = await upload(owner, huge)
    assert resp.status == 400
    assert "The files are larger than 64 MiB" in await resp.text()
    assert os.listdir(pending_of(tmp_path).parent) == []


async def test_an_upload_without_the_form_s_token_is_refused(
        owner: TestClient, signed_box: Box, tmp_path: Path) -> None:
    files = both(signed_box.signed(tmp_path, "0.2.0"))
    assert (await upload(owner, files, csrf="forged")).status == 403
    form = aiohttp.FormData()  # the token left out altogether
    form.add_field("files", files[0][1], filename=files[0][0])
    assert (await owner.post("/settings/update", data=form)).status == 403
    assert not pending_of(tmp_path).exists()


async def test_a_body_that_is_not_a_form_is_refused_in_plain_words(
        owner: TestClient, tmp_path: Path) -> None:
    csrf = await page_csrf(owner, "/settings")
    broken = await owner.post("/settings/update", data=b"--x\r\nnonsense", headers={
        "Content-Type": "multipart/form-data; boundary=y", "X-CSRF-Token": csrf})
    assert broken.status == 400
    assert "This form could not be read. Reload the page" in await broken.text()
    assert os.listdir(pending_of(tmp_path).parent) == []


async def test_a_box_without_an_updater_offers_no_upload(tmp_path: Path) -> None:
    client = await start_client(Settings(data=tmp_path / "data", host="127.0.0.1", port=0,
                                         update_keys=tmp_path / "no-keys",
                                         update_status=tmp_path / "status.json"))
    try:
        await onboard(client)
        page = await (await client.get("/settings")).text()
        assert "which this Hearth does not have" in page and 'name="files"' not in page
        resp = await upload(client, [("hearthbox-0.2.0-py3-none-any.whl", b"x")])
        assert resp.status == 400 and "this Hearth has none" in await resp.text()
        assert not pending_of(tmp_path).exists()
    finally:
        await client.close()


@pytest.fixture
def box(tmp_path: Path, signed_box: Box) -> Iterator[ServedBox]:
    """`hearth serve` with an updater: the browser test's box."""
    status = tmp_path / "root" / "status.json"
    served = ServedBox(tmp_path, env={"HEARTH_UPDATE_KEYS": str(signed_box.keys),
                                      "HEARTH_UPDATE_STATUS": str(status)})
    try:
        served.wait_until_serving()
        yield served
    finally:
        served.close()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_owner_picks_the_two_files_and_watches_the_update_end(
        new_context: NewContext, signed_box: Box, tmp_path: Path) -> None:
    page: Page = new_context().new_page()
    set_up_box(page)
    page.goto("/settings")
    section = page.locator("#update")
    expect(section).to_contain_text(f"This box runs Hearth {appliance.__version__}.")
    picker = section.get_by_label("The update and its signature")
    older = signed_box.signed(tmp_path, "0.0.5")
    picker.set_input_files([older, older.with_name(older.name + ".sig")])
    section.get_by_role("button", name="Install the update").click()
    expect(section.get_by_role("alert")).to_have_text(
        f"Hearth 0.0.5 is not newer than the version running ({appliance.__version__}). "
        "Nothing was changed.")

    wheel = signed_box.signed(tmp_path, "0.2.0")
    picker.set_input_files([wheel, wheel.with_name(wheel.name + ".sig")])
    section.get_by_role("button", name="Install the update").click()
    expect(page).to_have_url(re.compile(r"/settings#update$"))
    expect(section.get_by_role("alert")).to_have_count(0)
    message = section.locator("[data-update-message]")
    expect(message).to_have_text("Hearth 0.2.0 is uploaded and waits for the box's updater.")
    expect(section.locator("progress")).to_be_visible()
    expect(picker).to_be_hidden()  # one update at a time

    updater(signed_box, tmp_path)
    expect(message).to_contain_text("Hearth 0.2.0 was installed.", timeout=15_000)
    expect(message).to_have_class("ok")
    expect(section.locator("progress")).to_be_hidden()
    expect(picker).to_be_visible()
