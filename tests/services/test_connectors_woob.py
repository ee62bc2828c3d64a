"""The woob connector running a real woob module (tests/jobs/woob) against a local website."""
from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from appliance.core import Core
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import find
from appliance.keyring import seal
from tests.jobs.conftest import core, split_settings  # noqa: F401  (fixtures)

ACCOUNTS, OPERATIONS, BILLS = ("io.hearth.bank.accounts", "io.hearth.bank.operations",
                               "io.hearth.bills")
MODULES = Path(__file__).parents[1] / "jobs" / "woob"
KEY = os.urandom(32)
PDF = b"%PDF-1.4\n% facture de mars\n" + os.urandom(3000) + b"\n%%EOF\n"


@pytest.fixture
def woob_modules() -> Iterator[Path]:
    """Put the fake module's woob_modules folder on the path, as a box's modules would be."""
    sys.path.insert(0, str(MODULES))
    yield MODULES
    sys.path.remove(str(MODULES))
    for name in [n for n in sys.modules if n.startswith("woob_modules")]:
        del sys.modules[name]


class Bank:
    """The fake bank's website: a JSON API, a session cookie, an SMS code for some users."""

    def __init__(self) -> None:
        self.logins = 0
        self.codes_sent = 0
        self.validations = 0
        self.app = web.Application()
        self.app.add_routes([
            web.post("/login", self.login), web.get("/accounts", self.accounts),
            web.get("/accounts/{id}/history", self.history),
            web.get("/subscriptions/{id}/documents", self.documents),
            web.get("/documents/{id}.pdf", self.pdf)])

    async def login(self, request: web.Request) -> web.Response:
        form = await request.json()
        if form["password"] != "hunter2":
            raise web.HTTPUnauthorized()
        if form["login"] == "cgu":
            raise web.HTTPForbidden()
        if form["login"] == "claire" and form.get("otp") != "424242":
            if "otp" in form:
                raise web.HTTPUnauthorized()
            self.codes_sent += 1
            return web.json_response({"need": "otp"})
        if form["login"] == "appli" and not form.get("resume"):
            self.validations += 1
            return web.json_response({"need": "app"})
        self.logins += 1
        resp = web.json_response({"ok": True})
        resp.set_cookie("sid", f"session-{self.logins}")
        return resp

    def check(self, request: web.Request) -> None:
        if not request.cookies.get("sid", "").startswith("session-"):
            raise web.HTTPUnauthorized()

    async def accounts(self, request: web.Request) -> web.Response:
        self.check(request)
        return web.json_response([
            {"id": "0001", "label": "Compte chèques", "number": "FR7630004000031234567890143",
             "balance": "1234.56", "kind": "checking"},
            {"id": "0002", "label": "Livret A", "number": "0002999", "balance": "5000.00",
             "kind": "savings"}])

    async def history(self, request: web.Request) -> web.Response:
        self.check(request)
        if request.match_info["id"] == "0002":
            return web.json_response([{"id": "L1", "date": "2024-03-01", "amount": "100.00",
                                       "label": "Virement"}])
        return web.json_response([
            {"id": "", "date": "2024-03-05", "amount": "-2.40", "label": "Boulangerie"},
            {"id": "", "date": "2024-03-05", "amount": "-2.40", "label": "Boulangerie"},
            {"id": "T3", "date": "2024-03-06", "amount": "-54.90", "label": "Assurance"},
            {"id": "T4", "date": "2024-03-07", "amount": "2150.00", "label": "Salaire"}])

    async def documents(self, request: web.Request) -> web.Response:
        self.check(request)
        return web.json_response([{"id": "F2024-03", "date": "2024-03-02", "amount": "54.90",
                                   "label": "Facture de mars"}])

    async def pdf(self, request: web.Request) -> web.Response:
        self.check(request)
        return web.Response(body=PDF, content_type="application/pdf")


@pytest.fixture
async def bank() -> AsyncIterator[tuple[Bank, str]]:
    site_bank = Bank()
    runner = web.AppRunner(site_bank.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield site_bank, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def run(core: Core, url: str, *, login: str = "marie", password: str = "hunter2",
              module: str = "fakebank", session: Any = None, ask: Any = None
              ) -> tuple[Outcome, Any]:
    order = Order(find("woob").manifest, "acc-woob", "Ma banque",
                  {"module": module, "login": login, "website": url}, KEY,
                  sealed={"password": seal(KEY, "acc-woob", password.encode())},
                  session=session, ask=ask)
    return await execute(core, order)


pytestmark = pytest.mark.usefixtures("woob_modules")


async def test_accounts_operations_and_a_bill_come_home_once(
        core: Core, bank: tuple[Bank, str]) -> None:
    site, url = bank
    first, session = await run(core, url)
    assert first.status == "ok", first.summary()
    assert first.saved == {ACCOUNTS: 2, OPERATIONS: 5, BILLS: 1} and first.files == 1

    accounts = {a["label"]: a for a in core.collections[ACCOUNTS].all()}
    checking = accounts["Compte chèques"]
    assert (checking["balance"], checking["number"], checking["type"]) == (
        1234.56, "•••• 0143", "checking")
    assert accounts["Livret A"]["type"] == "savings"
    ops = core.collections[OPERATIONS].find({"account": checking["_id"]},
                                            sort=["date", "vendor_ref"])
    assert [o["amount"] for o in ops] == [-2.4, -2.4, -54.9, 2150.0]
    assert ops[1]["vendor_ref"] == ops[0]["vendor_ref"] + "#1"  # two coffees stay two
    assert {o["vendor_ref"] for o in ops[2:]} == {"id:T3", "id:T4"}

    [bill] = core.collections[BILLS].all()
    assert (bill["vendor"], bill["date"], bill["amount"], bill["label"]) == (
        "fakebank", "2024-03-02", 54.9, "Facture de mars")
    entry = await core.files.stat(
        "/Connectors/Ma banque/2024/2024-03-02_fakebank_54.90EUR_contrat-1_F2024-03.pdf")
    assert bill["file"] == entry.id and entry.size == len(PDF)

    again, _ = await run(core, url, session=session)
    assert again.status == "ok", again.summary()
    assert again.saved == {} and again.files == 0 and again.updated == {}
    assert site.logins == 1  # the second run used the kept session: no new login


async def test_a_wrong_password_is_login_failed(core: Core, bank: tuple[Bank, str]) -> None:
    out, _ = await run(core, bank[1], password="nope")
    assert (out.status, out.error) == ("failed", "LOGIN_FAILED"), out.summary()
    assert "incorrect" in out.message and not core.collections[ACCOUNTS].all()


async def test_new_terms_to_accept_is_user_action_needed(
        core: Core, bank: tuple[Bank, str]) -> None:
    out, _ = await run(core, bank[1], login="cgu")
    assert (out.status, out.error) == ("failed", "USER_ACTION_NEEDED"), out.summary()
    assert "conditions" in out.message


async def test_a_two_factor_code_is_asked_only_when_someone_can_answer(
        core: Core, bank: tuple[Bank, str]) -> None:
    site, url = bank
    scheduled, _ = await run(core, url, login="claire")
    assert (scheduled.status, scheduled.error) == ("failed", "CHALLENGE_ASKED")
    assert site.codes_sent == 1 and "Run now" in scheduled.message

    asked: list[dict[str, Any]] = []

    async def answer(question: dict[str, Any]) -> str:
        asked.append(question)
        return "424242"

    out, _ = await run(core, url, login="claire", ask=answer)
    assert out.status == "ok", out.summary()
    assert [q["prompt"] for q in asked] == ["Code reçu par SMS"]
    assert out.saved[OPERATIONS] == 5


async def test_a_validation_in_the_bank_app_is_confirmed_by_the_owner(
        core: Core, bank: tuple[Bank, str]) -> None:
    site, url = bank
    asked: list[str] = []

    async def confirm(question: dict[str, Any]) -> str:
        asked.append(question["prompt"])
        return "OK"

    out, _ = await run(core, url, login="appli", ask=confirm)
    assert out.status == "ok", out.summary()
    assert asked == ["Validez la connexion dans l'application de votre banque — then "
                     "answer OK here."]
    assert site.validations == 1 and site.logins == 1 and out.saved[ACCOUNTS] == 2


async def test_a_module_not_installed_is_not_found(core: Core, bank: tuple[Bank, str]) -> None:
    out, _ = await run(core, bank[1], module="nosuchbank")
    assert (out.status, out.error) == ("failed", "NOT_FOUND"), out.summary()
    assert "not installed" in out.message
    assert "hearth connector woob-install nosuchbank" in out.message
