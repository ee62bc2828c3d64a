"""The dav connector against a real Radicale: discovery, incremental sync, changes, deletions."""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import re

import aiohttp
import pytest
from aiohttp import web

from appliance.core import Core
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import find
from appliance.keyring import seal, unseal
from tests.jobs.conftest import core, split_settings  # noqa: F401  (fixtures)

CONTACTS, EVENTS = "io.hearth.contacts", "io.hearth.events"
KEY = os.urandom(32)
AUTH = {"Authorization": "Basic " + base64.b64encode(b"marie:s3cret").decode()}


def card(uid: str, fn: str, extra: str = "") -> str:
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{fn}\r\nN:{fn.split()[-1]};"
            f"{fn.split()[0]};;;\r\n{extra}END:VCARD\r\n")


DUPONT = card("c-dupont", "Jeanne Dupont",
              "EMAIL;TYPE=HOME:jeanne@example.org\r\nTEL;TYPE=CELL:+33 6 12 34 56 78\r\n"
              "ADR;TYPE=HOME:;;12 rue des Lilas;Épinal;;88000;France\r\n"
              "ORG:Mairie d'Épinal;Service\\, état civil\r\nBDAY:1980-04-02\r\n"
              "NOTE:a long note that is folded over\r\n  two lines\r\n")
EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
         "UID:e-yoga\r\nDTSTAMP:20240301T080000Z\r\n"
         "DTSTART;TZID=Europe/Paris:20240304T183000\r\nDURATION:PT1H30M\r\n"
         "SUMMARY:Yoga\r\nLOCATION:Salle des fêtes\\, Épinal\r\n"
         "DESCRIPTION:Bring a mat\\nand water\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")
HOLIDAY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
           "UID:e-holiday\r\nDTSTAMP:20240301T080000Z\r\nDTSTART;VALUE=DATE:20240501\r\n"
           "SUMMARY:Fête du travail\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    """A real Radicale on loopback, with htpasswd logins and its own storage folder."""
    users = tmp_path / "users"
    users.write_text("marie:s3cret\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(users),
         "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only",
         "--storage-filesystem-folder", str(tmp_path / "collections"),
         "--logging-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"radicale did not start: {proc.stderr.read()!r}"
                                   if proc.stderr else "radicale did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    if proc.stderr:
        proc.stderr.close()


async def dav(method: str, url: str, body: str = "", **headers: str) -> int:
    """Send one request to the server as a phone or a desktop client would."""
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.request(method, url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp.status


async def fill(base: str) -> None:
    """Make an address book with two contacts and a calendar with two events."""
    mkcol = ('<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" '
             'xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype>'
             '<d:collection/><c:addressbook/></d:resourcetype><d:displayname>Famille'
             '</d:displayname></d:prop></d:set></d:mkcol>')
    assert await dav("MKCOL", f"{base}/marie/famille/", mkcol) == 201
    assert await dav("MKCALENDAR", f"{base}/marie/agenda/") == 201
    vcard, ics = {"Content-Type": "text/vcard"}, {"Content-Type": "text/calendar"}
    assert await dav("PUT", f"{base}/marie/famille/dupont.vcf", DUPONT, **vcard) == 201
    assert await dav("PUT", f"{base}/marie/famille/martin.vcf",
                     card("c-martin", "Paul Martin"), **vcard) == 201
    assert await dav("PUT", f"{base}/marie/agenda/yoga.ics", EVENT, **ics) == 201
    assert await dav("PUT", f"{base}/marie/agenda/holiday.ics", HOLIDAY, **ics) == 201


async def run(core: Core, base: str, *, password: str = "s3cret", session: Any = None
              ) -> tuple[Outcome, Any]:
    order = Order(find("dav").manifest, "acc-dav", "Agenda", {"url": base, "login": "marie"},
                  KEY, sealed={"password": seal(KEY, "acc-dav", password.encode())},
                  session=session)
    return await execute(core, order)


def by_uid(core: Core, doctype: str) -> dict[str, dict[str, Any]]:
    return {d.get("uid", d["href"]): d for d in core.collections[doctype].all()}


async def test_contacts_and_events_are_copied_then_only_changes_come(
        core: Core, radicale: str) -> None:
    await fill(radicale)
    first, session = await run(core, radicale)
    assert first.status == "ok", first.summary()
    assert first.saved == {CONTACTS: 2, EVENTS: 2}

    contacts = by_uid(core, CONTACTS)
    jeanne = contacts["c-dupont"]
    assert jeanne["full_name"] == "Jeanne Dupont"
    assert jeanne["names"]["family"] == "Dupont" and jeanne["names"]["given"] == "Jeanne"
    assert jeanne["emails"] == [{"address": "jeanne@example.org", "types": ["home"]}]
    assert jeanne["phones"] == [{"number": "+33 6 12 34 56 78", "types": ["cell"]}]
    assert (jeanne["addresses"][0]["street"], jeanne["addresses"][0]["city"],
            jeanne["addresses"][0]["postcode"]) == ("12 rue des Lilas", "Épinal", "88000")
    assert jeanne["organization"] == "Mairie d'Épinal / Service, état civil"
    assert jeanne["birthday"] == "1980-04-02"
    assert "two lines" in jeanne["raw"] and jeanne["etag"] and not jeanne["deleted"]
    assert jeanne["collection"] == f"{radicale}/marie/famille/"
    assert jeanne["source"] == {"connector": "dav", "account": "acc-dav"}

    events = by_uid(core, EVENTS)
    yoga = events["e-yoga"]
    assert (yoga["summary"], yoga["location"], yoga["description"]) == (
        "Yoga", "Salle des fêtes, Épinal", "Bring a mat\nand water")
    assert (yoga["start"], yoga["end"]) == ("2024-03-04T18:30:00+01:00",
                                            "2024-03-04T20:00:00+01:00")
    assert (yoga["all_day"], yoga["rrule"], yoga["timezone"]) == (
        False, "FREQ=WEEKLY;BYDAY=MO", "Europe/Paris")
    holiday = events["e-holiday"]
    assert (holiday["start"], holiday["end"], holiday["all_day"]) == (
        "2024-05-01", "2024-05-02", True)

    kept = json.loads(unseal(KEY, "acc-dav", session))["collections"]
    assert sorted(kept) == [f"{radicale}/marie/agenda/", f"{radicale}/marie/famille/"]
    assert all(state["token"] and "etags" not in state for state in kept.values())
    again, session = await run(core, radicale, session=session)
    assert again.status == "ok" and again.saved == {} and again.updated == {}

    changed = DUPONT.replace("jeanne@example.org", "jeanne.dupont@example.net")
    assert await dav("PUT", f"{radicale}/marie/famille/dupont.vcf", changed,
                     **{"Content-Type": "text/vcard"}) == 204
    assert await dav("DELETE", f"{radicale}/marie/famille/martin.vcf") == 200
    assert await dav("DELETE", f"{radicale}/marie/agenda/holiday.ics") == 200
    third, session = await run(core, radicale, session=session)
    assert third.status == "ok", third.summary()
    assert third.saved == {} and third.updated == {CONTACTS: 2, EVENTS: 1}
    contacts, events = by_uid(core, CONTACTS), by_uid(core, EVENTS)
    assert contacts["c-dupont"]["emails"][0]["address"] == "jeanne.dupont@example.net"
    assert not contacts["c-dupont"]["deleted"] and contacts["c-martin"]["deleted"]
    assert events["e-holiday"]["deleted"] and not events["e-yoga"]["deleted"]
    assert contacts["c-martin"]["full_name"] == "Paul Martin"  # kept, marked deleted

    fourth, _ = await run(core, radicale, session=session)
    assert fourth.saved == {} and fourth.updated == {}


async def test_without_a_session_a_run_finds_everything_and_stores_no_double(
        core: Core, radicale: str) -> None:
    await fill(radicale)
    await run(core, radicale)
    fresh, _ = await run(core, radicale)  # a new password forgets the session
    assert fresh.status == "ok" and fresh.saved == {} and fresh.duplicates == 4


async def test_a_big_address_book_comes_whole(core: Core, radicale: str) -> None:
    await fill(radicale)
    for n in range(120):  # more than two multigets' worth
        assert await dav("PUT", f"{radicale}/marie/famille/p{n}.vcf",
                         card(f"c-{n}", f"Personne Numéro{n}"),
                         **{"Content-Type": "text/vcard"}) == 201
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.b64encode(os.urandom(300_000)).decode()
    folded = "\r\n ".join(photo[i:i + 74] for i in range(0, len(photo), 74)) + "\r\n"
    assert await dav("PUT", f"{radicale}/marie/famille/photo.vcf",
                     card("c-photo", "Léa Photo", folded), **{"Content-Type": "text/vcard"}) == 201
    talk = EVENT.replace("UID:e-yoga", "UID:e-talk").replace(
        "DESCRIPTION:Bring a mat\\nand water", "DESCRIPTION:" + "blabla é " * 40_000)
    assert await dav("PUT", f"{radicale}/marie/agenda/talk.ics", talk,
                     **{"Content-Type": "text/calendar"}) == 201
    out, _ = await run(core, radicale)
    assert out.status == "ok" and out.saved == {CONTACTS: 123, EVENTS: 3}, out.summary()
    contacts = by_uid(core, CONTACTS)
    assert {f"Personne Numéro{n}" for n in range(120)} <= {
        c["full_name"] for c in contacts.values()}
    # Too big for one record: the raw copy is left out, the long text cut, nothing lost else.
    assert contacts["c-photo"]["raw"] is None and contacts["c-photo"]["full_name"] == "Léa Photo"
    talk_doc = by_uid(core, EVENTS)["e-talk"]
    assert talk_doc["raw"] is None and talk_doc["description"].endswith("…")
    assert talk_doc["description"].startswith("blabla é blabla") and talk_doc["summary"] == "Yoga"


async def test_a_wrong_password_is_login_failed(core: Core, radicale: str) -> None:
    await fill(radicale)
    out, _ = await run(core, radicale, password="wrong")
    assert (out.status, out.error) == ("failed", "LOGIN_FAILED"), out.summary()
    assert "refused" in out.message and not core.collections[CONTACTS].all()


async def test_a_redirect_to_another_host_keeps_the_login(
        core: Core, radicale: str, elsewhere: str) -> None:
    await fill(radicale)
    out, _ = await run(core, elsewhere)
    assert out.status == "ok", out.summary()
    assert out.saved == {CONTACTS: 2, EVENTS: 2}
    assert {d["collection"] for d in core.collections[CONTACTS].all()} == {
        f"{radicale}/marie/famille/"}  # where they really are


async def test_an_account_with_no_address_book_nor_calendar_is_not_found(
        core: Core, radicale: str) -> None:
    out, _ = await run(core, radicale)
    assert (out.status, out.error) == ("failed", "NOT_FOUND"), out.summary()
    assert "no address book or calendar" in out.message


async def test_an_unreachable_server_is_vendor_down(core: Core) -> None:
    out, _ = await run(core, f"http://127.0.0.1:{free_port()}")
    assert (out.status, out.error) == ("failed", "VENDOR_DOWN"), out.summary()
    assert "try again later" in out.message


WEEKLY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
          "UID:e-choir\r\nDTSTAMP:20240301T080000Z\r\nDTSTART:20240305T180000Z\r\n"
          "DTEND:20240305T200000Z\r\nSUMMARY:Chorale\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:e-choir\r\nDTSTAMP:20240301T080000Z\r\n"
          "RECURRENCE-ID:20240312T180000Z\r\nDTSTART:20240312T190000Z\r\n"
          "DTEND:20240312T210000Z\r\nSUMMARY:Chorale (concert)\r\nEND:VEVENT\r\n"
          "END:VCALENDAR\r\n")


async def serve(handler: Any) -> AsyncIterator[str]:
    """Serve one handler for every path and method on loopback; yield its address."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def elsewhere(radicale: str) -> AsyncIterator[str]:
    """A host that sends every request to Radicale's, as iCloud's contacts.icloud.com does."""
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(radicale + request.path_qs)

    async for address in serve(moved):
        yield address


@pytest.fixture
async def no_sync(radicale: str) -> AsyncIterator[str]:
    """Radicale behind a proxy that hides its sync-tokens, like a server without RFC 6578."""
    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "depth", "content-type")}
        async with aiohttp.ClientSession() as http:
            async with http.request(request.method, radicale + request.path_qs,
                                    data=await request.read(), headers=headers) as resp:
                body = await resp.read()
                kind = resp.headers.get("Content-Type", "text/plain")
        if request.method == "PROPFIND":
            body = re.sub(rb"<([\w:]*)sync-token\s*/>|<([\w:]*)sync-token>.*?</[\w:]*sync-token>",
                          b"", body)
        return web.Response(status=resp.status, body=body, headers={"Content-Type": kind})

    async for address in serve(forward):
        yield address


async def test_a_server_without_sync_tokens_is_followed_by_etags(
        core: Core, radicale: str, no_sync: str) -> None:
    await fill(radicale)
    ics = {"Content-Type": "text/calendar"}
    assert await dav("PUT", f"{radicale}/marie/agenda/choir.ics", WEEKLY, **ics) == 201
    first, session = await run(core, no_sync)
    assert first.status == "ok", first.summary()
    assert first.saved == {CONTACTS: 2, EVENTS: 4}  # the choir: its rule and one changed date
    kept = json.loads(unseal(KEY, "acc-dav", session))["collections"]
    assert all(not state.get("token") and state["etags"] for state in kept.values())
    choir = sorted((e["instance"], e["summary"], e["start"]) for e in
                   core.collections[EVENTS].find({"uid": "e-choir"}))
    assert choir == [("*", "Chorale", "2024-03-05T18:00:00+00:00"),
                     ("20240312T180000Z", "Chorale (concert)", "2024-03-12T19:00:00+00:00")]

    again, session = await run(core, no_sync, session=session)
    assert again.saved == {} and again.updated == {}

    only_rule = re.sub(r"BEGIN:VEVENT\r\nUID:e-choir\r\nDTSTAMP:20240301T080000Z\r\nRECURRENCE"
                       r".*?END:VEVENT\r\n", "", WEEKLY, flags=re.S)
    assert await dav("PUT", f"{radicale}/marie/agenda/choir.ics", only_rule, **ics) == 204
    assert await dav("DELETE", f"{radicale}/marie/famille/martin.vcf") == 200
    third, _ = await run(core, no_sync, session=session)
    assert third.status == "ok" and third.saved == {}
    assert third.updated == {CONTACTS: 1, EVENTS: 2}, third.summary()  # the rule's etag, the date
    concert = core.collections[EVENTS].find({"instance": "20240312T180000Z"})
    assert [e["deleted"] for e in concert] == [True]
    assert by_uid(core, CONTACTS)["c-martin"]["deleted"]
