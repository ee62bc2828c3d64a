"""Every page and every error page, with the box in French, in a real Chromium: no English.

The English phrases looked for are the catalog's own: each msgid that French says
otherwise. The box runs in this process (aiohttp's runner on a thread of its own),
with the installed services and one more whose page fails, for the 500 page.
"""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Page, expect

from appliance.app import create_app
from appliance.platform import Platform
from appliance.platform.disks import FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.services import discover
from appliance.settings import Settings
from tests.web.conftest import chromium
from tests.web.test_browser import set_up_box
from tests.web.test_error_pages import FAILING
from tests.web.test_guard import walk

__all__ = ["chromium"]  # the browser fixture, shared with the other browser tests
pytestmark = pytest.mark.browser

CATALOG = Path(__file__).parents[2] / "appliance/locale/fr/LC_MESSAGES/hearth.po"
# Names that are the same in every language.
PROPER_NAMES = {"Hearth", "WebDAV", "DAVx5", "CalDAV", "CardDAV", "HTTPS", "Drive", "woob",
                "Thunderbird", "Nextcloud", "Android", "iPhone", "Windows", "macOS", "Linux"}
# Routes that are not pages: JSON, files, the protocol servers.
NOT_PAGES = re.compile(r"^/(data|dav)(/|$)|/status$|/panel$|\.(txt|crt)$|^/healthz$")
_HOLE = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]*>|\{[^}]*\}")


def english_phrases() -> list[str]:
    """Return each English sentence or fragment the French catalog translates otherwise."""
    with CATALOG.open("rb") as po:
        catalog = read_po(po, locale="fr")
    phrases: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            if english in strings:
                continue
            for fragment in _HOLE.split(english):
                fragment = " ".join(fragment.split()).strip(" .,:;()…“”\"'")
                words = fragment.split()
                if any(w.strip(".,:;!?") in PROPER_NAMES for w in words) and len(words) < 3:
                    continue
                words = [w for w in words if any(c.isalpha() for c in w)]
                if len(words) >= 2 or (len(words) == 1 and len(fragment) >= 6
                                       and fragment.isalpha()):
                    phrases.add(fragment)
    return sorted(phrases, key=len, reverse=True)


PHRASES = english_phrases()


def english_in(text: str) -> list[str]:
    """Return the catalog's English phrases found, as whole words, in a page's text."""
    flat = " ".join(text.split())
    return [p for p in PHRASES
            if re.search(rf"(?<![\w’'/-]){re.escape(p)}(?![\w’'/-])", flat)]


class InProcessBox:
    """The real app, with a failing service added, served on a thread with its own loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner, port = self.call(self._start())
        self.url = f"http://127.0.0.1:{port}"

    def call(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the box's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(60)

    async def _start(self) -> tuple[web.AppRunner, int]:
        app = create_app(self.settings, services=[*discover(), FAILING],
                         platform=Platform(notifier=NullNotifier(), disks=FakeDisks()))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, runner.addresses[0][1]

    def close(self) -> None:
        """Stop serving, clean the app up and end the thread."""
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def french_box(tmp_path: Path) -> Iterator[InProcessBox]:
    """A fresh box served in this process."""
    box = InProcessBox(Settings(data=tmp_path / "data", host="127.0.0.1", port=0))
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def contexts(chromium: Browser, french_box: InProcessBox) -> Iterator[list[BrowserContext]]:
    """French browsers on the box (the first is the owner's); all closed afterwards."""
    opened = [chromium.new_context(base_url=french_box.url, locale="fr-FR") for _ in range(2)]
    for context in opened:
        context.set_default_timeout(10_000)
    yield opened
    for context in opened:
        context.close()


class Walk:
    """Visits pages and keeps, for each, the English phrases its text shows."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.seen: list[str] = []

    def check(self, page: Page, what: str) -> None:
        """Look for English on the page the tab shows now (not where it says lang="en")."""
        page.wait_for_load_state()
        self.seen.append(what)
        # a connector's own log, shown as it wrote it: the page marks it as English
        page.evaluate("document.querySelectorAll('body [lang=en]').forEach(e => e.remove())")
        english = english_in(page.inner_text("body"))
        if english:
            self.found[what] = english

    def visit(self, page: Page, path: str) -> None:
        """Open a page and look for English on it."""
        page.goto(path)
        self.check(page, path)

    def post_form(self, page: Page, action: str, fields: dict[str, str], what: str) -> None:
        """Send a form the page didn't offer (as an old tab or another site would)."""
        page.evaluate("""([action, fields]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("textarea");
                input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();
        }""", [action, fields])
        page.wait_for_url(re.compile(re.escape(action) + "$"))
        self.check(page, what)


def _page_paths(box: InProcessBox) -> list[str]:
    paths = {pattern for method, pattern, _ in walk(box.runner.app)
             if method == "GET" and "{" not in pattern and not NOT_PAGES.search(pattern)}
    return sorted(paths)


def _submit(page: Page, action: str) -> None:
    page.locator(f"form[action='{action}'] button[type=submit]").first.click()
    page.wait_for_load_state()


def test_every_page_and_error_page_of_a_french_box_is_in_french(
        french_box: InProcessBox, contexts: list[BrowserContext], tmp_path: Path) -> None:
    assert len(PHRASES) > 300 and "Nothing here" in PHRASES
    owner, stranger = (context.new_page() for context in contexts)
    walk_ = Walk()
    walk_.visit(owner, "/welcome")
    walk_.visit(owner, "/welcome/restore")
    set_up_box(owner, language="fr")

    files = tmp_path / "data" / "files"
    (files / "Vacances").mkdir(parents=True)
    (files / "Vacances" / "plage.txt").write_text("sable et mer\n")
    (files / "Notes").mkdir()
    (files / "Notes" / "Courses.md").write_text("# Courses\n\n- pain\n")
    for path in _page_paths(french_box):
        walk_.visit(owner, path)
    for path in ("/apps/drive/folder/Vacances", "/apps/drive/item/Vacances/plage.txt",
                 "/apps/notes/n/Courses.md", "/s/new?path=/Vacances/plage.txt",
                 "/apps/drive/search?q=plage", "/apps/connectors/new/url"):
        walk_.visit(owner, path)

    # A share link, as a stranger opens it.
    owner.goto("/s/new?path=/Vacances/plage.txt")
    _submit(owner, "./")
    link = owner.get_by_test_id("new-link").input_value()
    walk_.visit(stranger, link)
    walk_.visit(stranger, link + "x")  # a link that isn't (any more)

    # A connector account, and the page of its first run.
    owner.goto("/apps/connectors/new/url")
    owner.locator("input[name=label]").fill("Factures")
    owner.locator("input[name=url]").fill("http://127.0.0.1:9/facture.pdf")
    owner.locator("form.stack button[type=submit]").first.click()
    expect(owner).to_have_url(re.compile(r"/apps/connectors/accounts/\w+$"))
    walk_.check(owner, "a connector account")
    owner.locator("form[action$='/run'] button[type=submit]").click()
    expect(owner).to_have_url(re.compile(r"/apps/connectors/runs/\w+$"))
    run = owner.url
    for _ in range(30):  # a live run reloads its page every 2 s: wait for its end
        response = owner.goto(run)
        if response is not None and "refresh" not in response.headers:
            break
        owner.wait_for_timeout(500)
    walk_.check(owner, "a connector run")

    # Backups to a folder: the kit, a backup, a snapshot.
    (tmp_path / "sauvegardes").mkdir()
    owner.goto("/apps/backup/")
    owner.get_by_test_id("folder").fill(str(tmp_path / "sauvegardes"))
    _submit(owner, "/apps/backup/setup")
    walk_.check(owner, "the emergency kit")
    owner.locator("input[name=kept]").check()
    _submit(owner, "/apps/backup/kit")
    _submit(owner, "/apps/backup/run")
    owner.wait_for_function("""async () => {
        const status = await (await fetch("/apps/backup/status")).json();
        return status.state === "done" || status.state === "failed";
    }""", timeout=60_000)
    walk_.visit(owner, "/apps/backup/")
    snapshot = owner.locator("a[href*='/apps/backup/snapshots/']").first
    snapshot.click()
    walk_.check(owner, "a backup's snapshot")
    walk_.visit(owner, "/apps/backup/snapshots/nothere")

    # The error pages.
    walk_.visit(owner, "/no/such/page")
    walk_.visit(owner, "/apps/drive/folder/Nulle part")
    walk_.visit(owner, "/apps/failing/")
    for path in ("/apps/connectors/accounts/nothere", "/apps/connectors/runs/nothere",
                 "/apps/connectors/new/nothere", "/https/hearth-ca.crt",
                 "/settings/storage/erase?device=/dev/nothere"):
        walk_.visit(owner, path)
    owner.goto("/settings")
    walk_.post_form(owner, "/settings/tokens", {"name": "x"}, "a form without its token")
    owner.goto("/settings")
    csrf = owner.locator("input[name=_csrf]").first.input_value()
    walk_.post_form(owner, "/settings/tokens", {
        "_csrf": csrf, "name": "x" * (french_box.settings.max_body_kb * 1024 + 10)},
        "a body too large")
    walk_.post_form(owner, "/apps/backup/snapshots/nothere/restore", {"_csrf": csrf},
                    "a restore of nothing")

    owner.locator("form[action='/logout'] button").first.click()
    walk_.visit(owner, "/login")
    walk_.visit(owner, "/settings")  # signed out: the sign-in page

    assert len(walk_.seen) > 40, walk_.seen
    assert not walk_.found, "English on French pages:\n" + "\n".join(
        f"{page}: {phrases}" for page, phrases in walk_.found.items())
