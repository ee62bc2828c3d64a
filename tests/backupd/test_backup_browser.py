"""Backups in a real Chromium on `hearth serve`: the emergency kit, and Back up now."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Box, NewContext, box, chromium, new_context
from tests.web.test_browser import set_up_box

__all__ = ["box", "chromium", "new_context"]
pytestmark = pytest.mark.browser
BACKUPS = "/apps/backup/"
KEY = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){8}$")


@pytest.fixture
def owner(new_context: NewContext, box: Box) -> Page:
    """A tab signed in as the owner, with some photos in the Drive."""
    photos = box.log.parent / "data" / "files" / "Photos"
    photos.mkdir(parents=True)
    for n in range(40):
        (photos / f"IMG_{n:03d}.jpg").write_bytes(os.urandom(500_000))
    page = new_context(accept_downloads=True).new_page()
    set_up_box(page)
    return page


def choose_folder(page: Page, folder: Path) -> str:
    """Set backups up into a folder; return the key the emergency kit shows."""
    folder.mkdir()
    page.goto(BACKUPS)
    page.get_by_test_id("folder").fill(str(folder))
    page.get_by_role("button", name="Back up to this folder").click()
    expect(page).to_have_url(re.compile(r"/apps/backup/kit$"))
    key = page.get_by_test_id("recovery-key").inner_text().strip()
    assert KEY.match(key), key
    return key


def test_the_emergency_kit_prints_saves_and_is_shown_once(owner: Page, tmp_path: Path) -> None:
    key = choose_folder(owner, tmp_path / "backups")
    with owner.expect_download() as download:
        owner.get_by_role("link", name="Save as a file").click()
    saved = Path(download.value.path()).read_text()
    assert key in saved and download.value.suggested_filename == "hearth-emergency-kit.txt"
    owner.emulate_media(media="print")
    expect(owner.get_by_test_id("recovery-key")).to_be_visible()
    expect(owner.get_by_role("button", name="Print")).to_be_hidden()
    expect(owner.locator("header.bar")).to_be_hidden()
    owner.emulate_media(media="screen")
    owner.get_by_role("button", name="Done").click()
    expect(owner.get_by_role("alert")).to_contain_text("Tick the box")
    owner.get_by_test_id("kept").check()
    owner.get_by_role("button", name="Done").click()
    expect(owner).to_have_url(re.compile(r"/apps/backup/$"))
    owner.goto(BACKUPS + "kit")
    expect(owner).to_have_url(re.compile(r"/apps/backup/$"))  # never shown again
    assert key not in owner.content()


def test_back_up_now_shows_the_bar_until_it_is_done(owner: Page, tmp_path: Path) -> None:
    choose_folder(owner, tmp_path / "backups")
    owner.get_by_test_id("kept").check()
    owner.get_by_role("button", name="Done").click()
    owner.get_by_role("button", name="Back up now").click()
    bar = owner.get_by_test_id("progress").locator("progress")
    expect(bar).to_be_visible()
    ended = owner.get_by_test_id("ended")
    expect(ended).to_contain_text(re.compile(r"\d+ files \(20 MB\)"), timeout=60_000)
    expect(ended).to_have_class("ok")
    assert bar.evaluate("bar => bar.value") == 100
    expect(owner.get_by_test_id("snapshots").get_by_role("link")).to_have_count(1)
    owner.goto("/notifications")
    expect(owner.get_by_text("Your backup is done")).to_be_visible()
