"""The connectors in a real Chromium on `hearth serve`, as a household adds and runs accounts."""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from tests.jobs.conftest import STATEMENTS, TOYS
from tests.services.test_connectors_woob import Bank
from tests.services.test_drive_browser import make_folder
from tests.services.woob_repository import woob_repository
from tests.web.conftest import PHONE, Box, NewContext, chromium, new_context
from tests.web.test_browser import _assert_fits_a_phone, set_up_box

__all__ = ["chromium", "new_context"]  # the browser fixtures, used here too
pytestmark = pytest.mark.browser
CONNECTORS = "/apps/connectors/"


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A woob repository on loopback holding the tests' fakebank module."""
    with woob_repository(tmp_path / "woob-repo") as served:
        yield served


@pytest.fixture
def box(tmp_path: Path, repository: tuple[str, list[str]]) -> Iterator[Box]:
    """A fresh box with the toy connectors installed, installing woob modules from loopback."""
    served = Box(tmp_path, env={"PYTHONPATH": str(TOYS),
                                "HEARTH_WOOB_REPOSITORY": repository[0]})
    try:
        served.wait_until_serving()
        yield served
    finally:
        served.close()


@contextmanager
def website(app: web.Application) -> Iterator[str]:
    """Serve an aiohttp app on 127.0.0.1 from a thread of its own; yield its address."""
    # Playwright's sync API runs a loop in this thread: the site's loop lives in its own.
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    async def start() -> str:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture
def owner(new_context: NewContext) -> Page:
    """A tab signed in as the owner of a box just set up, in English."""
    page = new_context().new_page()
    set_up_box(page)
    return page


def add_account(page: Page, connector: str, label: str, **fields: str) -> None:
    """Open Connectors from the home page, pick a connector and fill its form."""
    page.goto("/")
    page.get_by_role("link", name=re.compile("Connectors|Connecteurs")).first.click()
    page.get_by_test_id("connectors").get_by_role("link", name=connector, exact=True).click()
    page.locator("input[name=label]").fill(label)
    for name, value in fields.items():
        page.locator(f"[name={name}]").fill(value)
    page.locator("form.stack button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(label)


def run_now(page: Page, button: str = "Run now") -> None:
    """Press the account's Run now button and land on the run's page."""
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(re.compile(r"/apps/connectors/runs/[0-9a-f]+$"))


def test_a_bank_statement_from_the_drive_comes_home_and_once_only(
        owner: Page, tmp_path: Path) -> None:
    # The owner puts the statement the bank's site gave them in the Drive.
    owner.goto("/apps/drive/")
    make_folder(owner, "Banque")
    owner.get_by_test_id("files").get_by_role("link", name="Banque", exact=True).click()
    owner.locator("#pick-files").set_input_files(STATEMENTS / "bnp.ofx")
    expect(owner.get_by_test_id("files").get_by_role("link", name="bnp.ofx", exact=True)).to_be_visible()

    add_account(owner, "Bank statements", "Compte BNP", path="/Banque")
    expect(owner.get_by_test_id("runs")).to_contain_text("No run yet.")
    run_now(owner)
    # The page follows the run by itself until its end.
    status = owner.get_by_test_id("run-status")
    expect(status).to_have_text("Done", timeout=30_000)
    counts = owner.get_by_test_id("counts")
    expect(counts).to_contain_text("Bank operations: 5 new")
    expect(counts).to_contain_text("Bank accounts: 1 new")
    expect(owner.get_by_test_id("log")).to_contain_text("bnp.ofx")
    expect(owner.locator(".running")).to_have_count(0)
    owner.screenshot(path=tmp_path / "run-done.png", full_page=True)

    owner.get_by_role("link", name="Back to the account").click()
    run_now(owner)
    expect(status).to_have_text("Done", timeout=30_000)
    expect(owner.get_by_test_id("counts")).to_have_text(
        "Nothing new: all 6 things found were already here.")
    owner.get_by_role("link", name="Back to the account").click()
    expect(owner.get_by_test_id("runs").get_by_text("Done")).to_have_count(2)


def test_a_run_that_hangs_shows_it_working_then_says_it_was_stopped(owner: Page) -> None:
    add_account(owner, "Toy-Hang", "Lent", login="me", password="pw")
    run_now(owner)
    working = owner.get_by_role("status")
    expect(working).to_have_text("Working on it… This page follows the run by itself.")
    expect(owner.get_by_test_id("run-status")).to_have_text("Running")
    # Its 2 s limit passes; the page, reloading itself, shows the end in plain words.
    expect(owner.get_by_test_id("run-status")).to_have_text("Failed", timeout=20_000)
    expect(owner.get_by_role("status")).to_have_count(0)
    expect(owner.get_by_role("alert")).to_contain_text(
        "The run took too long and was stopped. Hearth will try again later.")


def test_the_run_page_asks_for_the_code_and_the_run_goes_on(owner: Page) -> None:
    add_account(owner, "Toy-Asks", "Deux facteurs", login="me", password="pw")
    run_now(owner)
    question = owner.get_by_label("Type the code sent by SMS")
    expect(question).to_be_visible(timeout=20_000)
    expect(owner.get_by_test_id("run-status")).to_have_text("Running")
    expect(owner.get_by_text("The service asks you something.")).to_be_visible()
    question.fill("123456")
    owner.get_by_role("button", name="Send").click()
    expect(owner.get_by_test_id("run-status")).to_have_text("Done", timeout=20_000)
    expect(owner.get_by_test_id("counts")).to_contain_text("io.hearth.toy.notes: 1 new")


def test_a_refused_login_says_what_to_do_on_the_account_and_in_notifications(
        owner: Page) -> None:
    add_account(owner, "Toy-Login", "Banque en ligne", login="me", password="wrong")
    run_now(owner)
    expect(owner.get_by_test_id("run-status")).to_have_text("Failed", timeout=20_000)
    alert = owner.get_by_role("alert")
    expect(alert).to_contain_text("The service refused the login or the password. Check them "
                                  "in this account's settings, then press “Run now”.")
    alert.get_by_role("link", name="Open the account's settings").click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text("Needs you")
    expect(owner.get_by_role("alert")).to_contain_text("refused the login or the password")
    expect(owner.locator("#settings")).to_be_in_viewport()

    unread = owner.get_by_test_id("unread")
    expect(unread).to_have_text("1")
    owner.get_by_role("navigation").get_by_role("link", name=re.compile("Notifications")).click()
    expect(owner.get_by_role("main")).to_contain_text(
        "A connector's login was refused: open the account to check its login and password")
    expect(owner.get_by_role("main")).to_contain_text("Banque en ligne")
    owner.get_by_role("main").get_by_role("link", name="Open").click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text("Banque en ligne")


def test_a_french_household_reads_it_all_in_french(new_context: NewContext) -> None:
    page = new_context(locale="fr-FR").new_page()
    set_up_box(page, language="fr")
    add_account(page, "Relevés bancaires", "Compte joint", path="/Banque")
    expect(page.get_by_role("button", name="Lancer maintenant")).to_be_visible()
    run_now(page, "Lancer maintenant")
    expect(page.get_by_test_id("run-status")).to_have_text("Échec", timeout=20_000)
    expect(page.get_by_role("alert")).to_contain_text("introuvable")
    page.get_by_role("link", name="Retour au compte").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A besoin de vous")
    expect(page.get_by_role("heading", name="Réglages de ce compte")).to_be_visible()


def test_on_a_phone_the_form_and_the_run_fit_a_thumb(new_context: NewContext,
                                                    tmp_path: Path) -> None:
    page = new_context(**PHONE).new_page()
    set_up_box(page)
    page.goto(CONNECTORS)
    _assert_fits_a_phone(page)
    page.get_by_role("link", name="Bank statements", exact=True).click()
    _assert_fits_a_phone(page, "Add the account")
    page.locator("input[name=label]").fill("Compte courant de la famille Dupont-Martin")
    page.locator("input[name=path]").fill("/Banque/Relevés/2024/un-dossier-au-nom-très-long")
    page.get_by_role("button", name="Add the account").click()
    _assert_fits_a_phone(page, "Run now", "Save", "Remove this account")
    page.screenshot(path=tmp_path / "phone-account.png", full_page=True)
    run_now(page)
    expect(page.get_by_test_id("run-status")).to_have_text("Failed", timeout=20_000)
    _assert_fits_a_phone(page)  # the log's long lines wrap
    page.screenshot(path=tmp_path / "phone-run.png", full_page=True)


def test_a_woob_module_is_installed_from_the_account_page_then_runs(
        owner: Page, repository: tuple[str, list[str]], tmp_path: Path) -> None:
    with website(Bank().app) as bank:
        add_account(owner, "Bank or biller through woob", "Ma banque", module="fakebank",
                    login="marie", password="hunter2", website=bank)
        card = owner.get_by_test_id("woob-install")
        expect(card).to_contain_text("The woob module fakebank is not on the box yet.")
        card.get_by_role("button", name="Install this module").click()
        expect(owner.get_by_test_id("woob-install")).to_contain_text(
            "The woob module fakebank is installed.", timeout=60_000)
        assert "/fakebank.tar.gz" in repository[1]
        assert not list((tmp_path / "data").glob("files/**/fakebank*"))
        run_now(owner)
        expect(owner.get_by_test_id("run-status")).to_have_text("Done", timeout=60_000)
        expect(owner.get_by_test_id("counts")).to_contain_text("Bank operations: 5 new")
        expect(owner.get_by_test_id("counts")).to_contain_text("Bills: 1 new")


def test_an_unknown_woob_module_says_so_on_the_account_page(owner: Page) -> None:
    add_account(owner, "Bank or biller through woob", "Ma banque", module="nosuchbank",
                login="marie", password="hunter2")
    owner.get_by_role("button", name="Install this module").click()
    expect(owner.get_by_role("alert")).to_contain_text(
        "The install did not work: woob's repository has no module called 'nosuchbank'",
        timeout=60_000)
    expect(owner.get_by_role("button", name="Install this module")).to_be_visible()
