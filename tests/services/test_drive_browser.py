"""The Drive in a real Chromium on `hearth serve`: uploads, folders, moves, trash, a phone."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.web.conftest import PHONE, Box, NewContext, box, chromium, new_context
from tests.web.test_browser import _sideways_overflow, set_up_box

__all__ = ["box", "chromium", "new_context"]  # the browser fixtures, used here too
pytestmark = pytest.mark.browser
DRIVE = "/apps/drive/"


@pytest.fixture
def owner(new_context: NewContext) -> Page:
    """A tab signed in as the owner of a box just set up, on the Drive."""
    page = new_context().new_page()
    set_up_box(page)
    page.goto(DRIVE)
    return page


def files_of(box: Box) -> Path:
    """Return the folder where the box keeps the Drive's plain files."""
    return box.log.parent / "data" / "files"


def png(width: int, height: int) -> bytes:
    """Return a small valid PNG image (an orange rectangle)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\xc2\x56\x2b" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                            0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_folder(page: Page, name: str) -> None:
    """Create a folder where the page is, with the New folder form."""
    page.get_by_text("New folder").click()
    page.get_by_label("Name of the new folder").fill(name)
    page.get_by_role("button", name="Create").click()


def test_uploads_show_their_progress_then_the_files_are_listed(
        owner: Page, box: Box, tmp_path: Path) -> None:
    picked = tmp_path / "picked"
    picked.mkdir()
    contents = {"Relevé mars.pdf": b"%PDF-1.4\n" + b"r" * 3_000_000,
                "chat.png": png(40, 30), "notes.txt": b"acheter du pain\n"}
    for name, data in contents.items():
        (picked / name).write_bytes(data)
    # A slow link, so that the bars can be seen moving.
    cdp = owner.context.new_cdp_session(owner)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 5, "downloadThroughput": -1,
        "uploadThroughput": 2_000_000})
    owner.locator("#pick-files").set_input_files([picked / n for n in contents])

    expect(owner.locator("#uploads")).to_be_visible()
    expect(owner.locator("#upload-list progress")).to_have_count(3)
    expect(owner.locator("#upload-total")).to_be_visible()
    owner.wait_for_function(
        "() => { const bar = document.getElementById('upload-total');"
        " return bar.value > 0 && bar.value < bar.max; }")
    expect(owner.locator("#upload-summary")).to_have_text("3 of 3 files sent", timeout=15_000)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    assert owner.locator("#upload-total").evaluate("bar => bar.value === bar.max")
    listing = owner.get_by_test_id("files")
    for name in contents:
        expect(listing.get_by_role("link", name=name, exact=True)).to_be_visible()
    for name, data in contents.items():
        assert (files_of(box) / name).read_bytes() == data

    # The same name again: the box asks before replacing it.
    (picked / "notes.txt").write_bytes(b"acheter du lait\n")
    owner.locator("#pick-files").set_input_files(picked / "notes.txt")
    row = owner.locator("#upload-list li").last
    expect(row).to_contain_text("Something with that name is already there.")
    row.get_by_role("button", name="Replace").click()
    expect(row).to_contain_text("Done")
    assert (files_of(box) / "notes.txt").read_bytes() == b"acheter du lait\n"

    # A whole folder, through the folder picker, and a file dropped on the page.
    album = tmp_path / "Album"
    (album / "Été").mkdir(parents=True)
    (album / "Été" / "plage.png").write_bytes(png(8, 8))
    owner.locator("#pick-folder").set_input_files(album)
    expect(listing.get_by_role("link", name="Album", exact=True)).to_be_visible()
    assert (files_of(box) / "Album" / "Été" / "plage.png").read_bytes() == png(8, 8)
    owner.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["dropped"], "déposé.txt", { type: "text/plain" }));
        const zone = document.getElementById("listing");
        for (const type of ["dragover", "drop"])
            zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true,
                                                     cancelable: true }));
    }""")
    expect(listing.get_by_role("link", name="déposé.txt", exact=True)).to_be_visible()
    owner.screenshot(path=tmp_path / "drive-uploads.png", full_page=True)

    # The image opens in the page.
    listing.get_by_role("link", name="chat.png", exact=True).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("chat.png")
    image = owner.get_by_role("img", name="chat.png")
    expect(image).to_be_visible()
    owner.wait_for_function("img => img.complete && img.naturalWidth === 40",
                            arg=image.element_handle())


def test_folders_inside_folders_with_breadcrumbs(owner: Page) -> None:
    make_folder(owner, "Famille")
    owner.get_by_test_id("files").get_by_role("link", name="Famille", exact=True).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Famille")
    make_folder(owner, "Noël 2024")
    owner.get_by_role("link", name="Noël 2024", exact=True).click()
    crumbs = owner.get_by_role("navigation", name="Folders")
    expect(crumbs.get_by_role("link")).to_have_text(["Drive", "Famille", "Noël 2024"])
    expect(crumbs.get_by_role("link", name="Noël 2024", exact=True)).to_have_attribute(
        "aria-current", "page")
    expect(owner.get_by_text("This folder is empty.")).to_be_visible()

    make_folder(owner, "a/b")
    expect(owner.get_by_role("alert")).to_contain_text(
        "That name can't be used. 'a/b' can't be used as a name")
    crumbs.get_by_role("link", name="Famille", exact=True).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Famille")
    crumbs.get_by_role("link", name="Drive", exact=True).click()
    expect(owner).to_have_url(re.compile(r"/apps/drive/$"))
    expect(owner.get_by_test_id("files").locator("a.name")).to_have_text(["📁Famille"])


def test_moving_with_the_folder_picker_then_trash_and_restore(owner: Page, box: Box) -> None:
    make_folder(owner, "Papiers")
    owner.get_by_role("link", name="Papiers", exact=True).click()
    make_folder(owner, "Impôts")
    owner.goto(DRIVE)
    files_of(box).joinpath("avis.txt").write_bytes(b"avis 2024")
    owner.reload()

    owner.get_by_role("link", name="More about avis.txt").click()
    owner.get_by_role("button", name="Choose…").click()
    picker = owner.get_by_role("dialog")
    expect(picker).to_be_visible()
    picker.get_by_role("button", name="📁 Papiers").click()
    picker.get_by_role("button", name="📁 Impôts").click()
    picker.get_by_role("button", name="Choose this folder").click()
    expect(owner.get_by_label("To the folder")).to_have_value("/Papiers/Impôts")
    owner.get_by_role("button", name="Move", exact=True).click()
    assert (files_of(box) / "Papiers" / "Impôts" / "avis.txt").read_bytes() == b"avis 2024"

    owner.goto(DRIVE + "folder/Papiers/Imp%C3%B4ts")
    owner.get_by_role("link", name="avis.txt", exact=True).click()
    owner.get_by_role("button", name="Move to the trash").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Impôts")
    expect(owner.get_by_text("This folder is empty.")).to_be_visible()

    owner.get_by_role("link", name="Trash", exact=True).click()
    item = owner.get_by_test_id("trash").get_by_role("listitem")
    expect(item).to_contain_text("avis.txt")
    expect(item).to_contain_text("From /Papiers/Impôts")
    item.get_by_role("button", name="Put back avis.txt").click()
    expect(owner.get_by_text("The trash is empty.")).to_be_visible()
    assert (files_of(box) / "Papiers" / "Impôts" / "avis.txt").exists()

    owner.goto(DRIVE)
    owner.get_by_role("link", name="More about Papiers").click()
    owner.get_by_role("button", name="Move to the trash").click()
    owner.get_by_role("link", name="Trash", exact=True).click()
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()
    owner.on("dialog", answer)
    owner.get_by_role("button", name="Empty the trash").click()
    expect(owner.get_by_text("The trash is empty.")).to_be_visible()
    assert questions == ["Empty the trash? Everything in it is deleted for good."]
    assert list(files_of(box).iterdir()) == []


def test_on_a_phone_the_drive_fits_and_takes_a_thumb(new_context: NewContext, box: Box,
                                                      tmp_path: Path) -> None:
    page = new_context(**PHONE).new_page()
    set_up_box(page)
    long_name = "Compte-rendu_de_l_assemblee_generale_de_la_copropriete_" * 3 + ".pdf"
    folder = files_of(box) / "Dossier au nom vraiment très long pour un petit écran"
    folder.mkdir(parents=True)
    (folder / long_name[:250]).write_bytes(b"%PDF-1.4\n")
    page.goto(DRIVE)
    page.get_by_role("link", name=re.compile("^Dossier au nom")).click()
    for where in ("folder", "item"):
        overflow = _sideways_overflow(page)
        assert overflow is None, f"the {where} page scrolls sideways: {overflow}"
        for target in page.locator(".entry a, .crumbs a, button:visible, label.button").all():
            size = target.bounding_box()
            assert size is not None and size["height"] >= 40, \
                f"{target.text_content()!r} is too small for a thumb on the {where} page"
        page.screenshot(path=tmp_path / f"phone-drive-{where}.png", full_page=True)
        if where == "folder":
            page.get_by_test_id("files").locator("a.name").first.click()
