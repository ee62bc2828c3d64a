"""Backups in a real Chromium on `hearth serve`: the emergency kit, and Back up now."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSPHRASE
from tests.web.conftest import PHONE, Box, NewContext, box, chromium, new_context
from tests.cli.shell import HEARTH
from tests.web.test_browser import set_up_box, sign_in

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


def old_box_backed_up(chromium: Browser, tmp_path: Path) -> str:
    """Set up an old box, stop it, back it up into tmp_path/usb with `hearth`; return the key."""
    (tmp_path / "old").mkdir()
    old = Box(tmp_path / "old")  # the old box, set up by its owner, then backed up and stopped
    try:
        old.wait_until_serving()
        context = chromium.new_context(base_url=old.url, locale="en-US")
        set_up_box(context.new_page(), name="ancienne")
        context.close()
        (tmp_path / "old" / "data" / "files" / "lettre.txt").write_text("Chère Marie\n")
    finally:
        old.close()
    data = tmp_path / "old" / "data"
    repo = tmp_path / "usb" / "hearth-backups" / json.loads((data / "disk.json").read_text())[
        "instance"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    key = subprocess.run([*HEARTH, "backup", "init", "--repo", str(repo)], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run([*HEARTH, "backup", "run", "--repo", str(repo), "--data", str(data)],
                   env={**env, "HEARTH_BACKUP_KEY": key}, check=True, capture_output=True)
    return key


def start_the_move(fresh: Page, tmp_path: Path, key: str) -> None:
    fresh.goto("/")
    fresh.get_by_test_id("have-backup").click()
    fresh.get_by_label("Or a folder on this computer").fill(str(tmp_path / "usb"))
    fresh.get_by_label("Recovery key").fill(key.replace("-", " ").lower())
    fresh.get_by_role("button", name="Restore everything").click()


def test_move_my_hearth_from_the_welcome_page(new_context: NewContext, chromium: Browser,
                                              box: Box, tmp_path: Path) -> None:
    key = old_box_backed_up(chromium, tmp_path)
    fresh = new_context().new_page()
    start_the_move(fresh, tmp_path, key)
    expect(fresh.get_by_test_id("progress").locator("progress")).to_be_visible()
    expect(fresh).to_have_url(re.compile(r"/login"), timeout=60_000)
    sign_in(fresh)
    expect(fresh).to_have_url(re.compile(r"/$"))
    expect(fresh.locator(".brand")).to_contain_text("ancienne")
    served = box.log.parent / "data" / "files" / "lettre.txt"
    assert served.read_text() == "Chère Marie\n"


def kept_and_backed_up(owner: Page, tmp_path: Path) -> str:
    """Set backups up into a folder, keep the kit, back up once; return the key."""
    key = choose_folder(owner, tmp_path / "backups")
    owner.get_by_test_id("kept").check()
    owner.get_by_role("button", name="Done").click()
    owner.get_by_role("button", name="Back up now").click()
    expect(owner.get_by_test_id("ended")).to_have_class("ok", timeout=60_000)
    return key


def test_one_file_comes_back_from_an_older_backup(owner: Page, box: Box,
                                                  tmp_path: Path) -> None:
    key = kept_and_backed_up(owner, tmp_path)
    photo = box.log.parent / "data" / "files" / "Photos" / "IMG_007.jpg"
    before = photo.read_bytes()
    photo.write_bytes(b"overwritten by mistake")
    # A later backup (from the `hearth` command, which prunes nothing) holds the bad copy.
    repo = next((tmp_path / "backups" / "hearth-backups").iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    subprocess.run([*HEARTH, "backup", "run", "--repo", str(repo), "--data",
                    str(box.log.parent / "data")], env={**env, "HEARTH_BACKUP_KEY": key},
                   check=True, capture_output=True)
    owner.goto(BACKUPS)
    backups = owner.get_by_test_id("snapshots").get_by_role("link")
    expect(backups).to_have_count(2)
    backups.last.click()  # newest first: the last is the older one
    expect(owner.get_by_role("heading", level=1)).to_contain_text("Backup of")
    owner.get_by_role("link", name="Photos").click()
    row = owner.get_by_test_id("entries").locator("li", has_text="IMG_007.jpg")
    expect(row).to_contain_text("500 kB")
    row.get_by_role("button", name="Restore into the Drive").click()
    ended = owner.get_by_test_id("ended")
    expect(ended).to_contain_text("Brought back into the Drive: /Restored ", timeout=30_000)
    where = ended.inner_text().split(": ", 1)[1].strip()
    restored = box.log.parent / "data" / "files" / where.lstrip("/")
    assert restored.read_bytes() == before and photo.read_bytes() == b"overwritten by mistake"


def fits_a_phone(page: Page) -> None:
    """Assert nothing scrolls sideways and every button is big enough for a thumb."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url
    heights = page.evaluate("""() => [...document.querySelectorAll('button, a.button')]
        .filter(b => b.offsetParent).map(b => [b.textContent.trim(),
                                               b.getBoundingClientRect().height])""")
    assert heights and all(h >= 40 for _, h in heights), heights


def test_the_backup_pages_fit_a_phone_in_french(owner: Page, new_context: NewContext,
                                                box: Box, tmp_path: Path) -> None:
    kept_and_backed_up(owner, tmp_path)
    phone = new_context(locale="fr-FR", **PHONE)
    phone.add_cookies([{"name": "hearth_lang", "value": "fr", "url": box.url}])  # the box's
    page = phone.new_page()
    page.goto("/login")
    page.get_by_label("Phrase secrète").fill(PASSPHRASE)
    page.get_by_role("button", name="Connexion").click()
    page.goto(BACKUPS)
    expect(page.get_by_role("heading", name="Sauvegardes gardées")).to_be_visible()
    expect(page.get_by_test_id("last")).to_contain_text(re.compile(r"\d+ fichiers \(20 Mo\)"))
    expect(page.get_by_text("Prochaine sauvegarde")).to_contain_text(re.compile(r"\d{4}"))
    fits_a_phone(page)
    page.get_by_test_id("snapshots").get_by_role("link").first.click()
    page.get_by_role("link", name="Photos").click()
    expect(page.get_by_test_id("restore").first).to_have_text("Restaurer dans le Drive")
    fits_a_phone(page)


def test_a_move_that_fails_says_why_and_offers_to_try_again(
        new_context: NewContext, chromium: Browser, box: Box, tmp_path: Path) -> None:
    key = old_box_backed_up(chromium, tmp_path)
    packs = sorted((tmp_path / "usb").glob("hearth-backups/*/packs/*/*"),
                   key=lambda p: p.stat().st_size)
    damaged = bytearray(packs[-1].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    packs[-1].write_bytes(bytes(damaged))
    fresh = new_context().new_page()
    start_the_move(fresh, tmp_path, key)
    expect(fresh.get_by_test_id("move-failed")).to_be_visible(timeout=60_000)
    expect(fresh).to_have_url(re.compile(r"/welcome/restore$"))  # not sent to sign in
    expect(fresh.get_by_test_id("ended")).to_contain_text("damaged on the backup disk")
    expect(fresh.get_by_role("button", name="Restore everything")).to_be_visible()
    fresh.get_by_role("link", name="Back: set up a new Hearth instead").click()
    set_up_box(fresh, name="nouvelle")  # starting fresh works: nothing was half moved in
    assert not (box.log.parent / "data" / "files" / "lettre.txt").exists()
