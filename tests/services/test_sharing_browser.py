"""Sharing and notes in a real Chromium on `hearth serve`: a link made by the owner, used by a stranger."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import PHONE, Box, NewContext, box, chromium, new_context
from tests.web.test_browser import _assert_fits_a_phone, set_up_box

__all__ = ["box", "chromium", "new_context"]  # the browser fixtures, used here too
pytestmark = pytest.mark.browser


@pytest.fixture
def owner(new_context: NewContext) -> Page:
    """A tab signed in as the owner of a box just set up."""
    page = new_context().new_page()
    set_up_box(page)
    return page


def test_a_link_made_by_the_owner_downloads_in_a_strangers_browser(
        owner: Page, box: Box, new_context: NewContext, tmp_path: Path) -> None:
    report = tmp_path / "data" / "files" / "Papiers" / "Relevé 2024.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 50)

    owner.goto("/s/new?path=/Papiers/Relevé 2024.pdf")  # where the Drive's Share leads
    expect(owner.get_by_role("heading", level=1)).to_have_text("Share Relevé 2024.pdf")
    owner.get_by_label("Password (optional)").fill("tarte aux pommes")
    owner.get_by_role("button", name="Create the link").click()
    expect(owner.get_by_role("status")).to_contain_text("The link to Relevé 2024.pdf is ready")
    link = owner.get_by_test_id("new-link").input_value()
    assert re.fullmatch(rf"{re.escape(box.url)}/s/[A-Za-z0-9_-]{{32}}", link)
    owner.get_by_role("button", name="Copy").first.click()
    expect(owner.get_by_role("button", name="Copied").first).to_be_visible()

    stranger = new_context(**PHONE).new_page()  # no cookies: not signed in
    stranger.goto(link)
    expect(stranger.get_by_role("navigation")).to_have_count(0)
    _assert_fits_a_phone(stranger, "Open")
    stranger.get_by_label("Password").fill("tarte aux pommes")
    stranger.get_by_role("button", name="Open").click()
    expect(stranger.get_by_role("heading", level=1)).to_contain_text("Relevé 2024.pdf")
    with stranger.expect_download() as started:
        stranger.get_by_role("link", name="Download").click()
    download = started.value
    _assert_fits_a_phone(stranger)
    assert download.suggested_filename == "Relevé 2024.pdf"
    assert Path(download.path()).read_bytes() == report.read_bytes()

    owner.goto("/s/")
    row = owner.get_by_role("listitem").filter(has_text="Relevé 2024.pdf")
    expect(row).to_contain_text("1 visit")
    expect(row).to_contain_text("1 download")
    owner.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Turn off").click()
    expect(owner.get_by_text("Nothing is shared yet.")).to_be_visible()
    stranger.reload()
    expect(stranger.get_by_role("alert")).to_contain_text("turned off by the person who shared it")


def test_a_note_previews_as_it_is_typed(owner: Page) -> None:
    owner.goto("/apps/notes/")
    owner.get_by_role("button", name="New note").click()
    editor = owner.get_by_label("Note")
    editor.fill("# Courses\n\n- **lait**\n- <b>pain</b>")
    preview = owner.locator("#preview")
    expect(preview.locator("strong")).to_have_text("lait")
    expect(preview).to_contain_text("<b>pain</b>")  # shown as typed, never as HTML
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_role("status")).to_have_text("Saved.")
    owner.get_by_role("link", name="All notes").click()
    expect(owner.get_by_role("link", name="Courses")).to_be_visible()
