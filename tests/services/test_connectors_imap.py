"""The imap-invoices connector against a real Dovecot on loopback: rules, dedup, TLS, errors."""
from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import compat32
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from appliance.core import Core
from tests.jobs.conftest import core, split_settings, toys  # noqa: F401  (fixtures)
from tests.cli.test_connectors import hearth, last_json
from tests.services.account_runs import Account, said
from tests.services.dovecot import Dovecot, dovecot, free_port, mail, tiny_pdf  # noqa: F401
from tests.services.test_connectors import add_account, box, finished, run_now  # noqa: F401
from tests.services.test_connectors import scheduler_of

BILLS = "io.hearth.bills"
NOW = datetime.now(timezone.utc)


def mail_account(core: Core, server: Dovecot, **fields: str) -> Account:
    """A mail account on the test server, plain IMAP on loopback, two suppliers chosen."""
    return Account(core, "imap-invoices", "Courrier", {
        "host": "127.0.0.1", "port": str(server.plain), "security": "none",
        "login": server.login, "password": server.password,
        "senders": "edf.fr, free-mobile.fr", **fields})


def fill(server: Dovecot) -> dict[str, bytes]:
    """Put a month of a household's mail in: two invoices, and mail the rules must leave."""
    edf, free = tiny_pdf("EDF 42,50"), tiny_pdf("Free 19,99")
    server.append(mail("factures@edf.fr", "Votre facture d'électricité",
                       "Bonjour,\nMontant : 42,50 €\nPrélevé le 15.", pdf={"facture.pdf": edf},
                       sent=NOW - timedelta(days=3)), received=NOW - timedelta(days=3))
    server.append(mail("noreply@mail.free-mobile.fr", "Your Free Mobile invoice",
                       "<p>Thanks!</p><p>Total:&nbsp;<b>€19.99</b></p>", html=True,
                       pdf={"invoice.pdf": free}))
    # Same sender, a PDF, but no invoice word in its subject: a newsletter.
    server.append(mail("news@edf.fr", "Nos offres de l'hiver", "Promo", pdf={"offre.pdf": edf}))
    # An invoice word, but a sender nobody chose.
    server.append(mail("shop@example.com", "Facture 1234", "Montant : 9,00 €",
                       pdf={"facture.pdf": tiny_pdf("shop")}))
    # An invoice from a chosen sender with no PDF: nothing to keep.
    server.append(mail("factures@edf.fr", "Facture disponible", "Voir votre espace client"))
    # An invoice older than the look-back window.
    old = NOW - timedelta(days=800)
    server.append(mail("factures@edf.fr", "Facture 2024", "Montant : 80,00 €",
                       pdf={"facture.pdf": tiny_pdf("old")}, sent=old), received=old)
    return {"edf": edf, "free": free}


async def drive(core: Core, folder: str) -> dict[str, bytes]:
    base = f"/Connectors/Courrier/{folder}"
    return {e.name: core.files.real_path(f"{base}/{e.name}").read_bytes()
            for e in await core.files.list(base)}


async def test_invoices_are_kept_once_by_supplier_and_new_mail_is_picked_up(
        core: Core, dovecot: Dovecot) -> None:
    pdfs = fill(dovecot)
    account = mail_account(core, dovecot)
    first = await account.run()
    assert first.status == "ok", first.summary()
    assert (first.saved, first.files, first.rejected) == ({BILLS: 2}, 2, 0)
    assert "new messages: 6" not in said(first)  # the old one is out
    assert "INBOX: new messages: 5, matching the rules: 3" in said(first)

    edf_files = await drive(core, "EDF")
    [(edf_name, edf_data)] = edf_files.items()
    day = (NOW - timedelta(days=3)).date().isoformat()
    assert edf_name.startswith(f"{day} facture ") and edf_name.endswith(".pdf")
    assert edf_data == pdfs["edf"]
    assert list((await drive(core, "Free-Mobile")).values()) == [pdfs["free"]]

    [edf] = core.collections[BILLS].find({"vendor": "EDF"})
    entry = await core.files.stat(f"/Connectors/Courrier/EDF/{edf_name}")
    assert (edf["date"], edf["amount"], edf["currency"], edf["file"]) == (day, 42.5, "EUR",
                                                                          entry.id)
    assert edf["vendor_ref"].endswith("@edf.fr>/facture.pdf")
    [free] = core.collections[BILLS].find({"vendor": "Free-Mobile"})
    assert (free["amount"], free["currency"]) == (19.99, "EUR")

    again = await account.run()
    assert (again.status, again.saved, again.files) == ("ok", {}, 0)
    assert "new messages: 0" in said(again)  # the session says where the last run stopped

    later = tiny_pdf("EDF 51,20")
    dovecot.append(mail("factures@edf.fr", "Votre nouvelle facture", "Total TTC : 51,20 €",
                        pdf={"facture.pdf": later}))
    third = await account.run()
    assert (third.saved, third.files) == ({BILLS: 1}, 1)
    assert "new messages: 1, matching the rules: 1" in said(third)
    assert sorted(b["amount"] for b in core.collections[BILLS].find({"vendor": "EDF"})) == [
        42.5, 51.2]
    assert later in (await drive(core, "EDF")).values()

    # Without its session (a first run again), everything is found already there.
    account.session = None
    fresh = await account.run()
    assert (fresh.status, fresh.saved, fresh.files, fresh.duplicates) == ("ok", {}, 0, 6)


async def test_changed_rules_look_back_and_a_vendor_name_is_used(core: Core,
                                                                  dovecot: Dovecot) -> None:
    fill(dovecot)
    account = mail_account(core, dovecot, senders="example.com", vendor="Boutique")
    assert (await account.run()).saved == {BILLS: 1}
    [shop] = core.collections[BILLS].find({"vendor": "Boutique"})
    assert (shop["amount"], shop["currency"]) == (9.0, "EUR")
    assert len(await drive(core, "Boutique")) == 1
    # New rules read the window again: Free's invoice, older than the last run, is found.
    widened = await account.run(senders="example.com, free-mobile.fr")
    assert (widened.saved, widened.files, widened.duplicates) == ({BILLS: 1}, 1, 2)
    assert len(await drive(core, "Boutique")) == 2  # the vendor named in the account


async def test_another_mailbox_and_a_missing_one(core: Core, dovecot: Dovecot) -> None:
    dovecot.create("Re&AOc-us")  # "Reçus" as IMAP writes names (modified UTF-7)
    dovecot.append(mail("factures@edf.fr", "Facture", "Montant : 10,00 €",
                        pdf={"f.pdf": tiny_pdf("x")}), mailbox="Re&AOc-us")
    account = mail_account(core, dovecot)
    missing = await account.run(mailbox="Archives")
    assert missing.status == "failed" and missing.error == "NOT_FOUND"
    assert "there is no mailbox 'Archives'" in missing.message
    ok = await account.run(mailbox="Reçus")
    assert ok.status == "ok" and ok.saved == {BILLS: 1}, ok.summary()
    assert "Reçus: new messages: 1" in said(ok)


async def test_tls_trusts_a_self_signed_server_only_by_its_fingerprint(
        core: Core, dovecot: Dovecot) -> None:
    fill(dovecot)
    account = mail_account(core, dovecot, security="tls", port=str(dovecot.tls))
    refused = await account.run()
    assert (refused.status, refused.error) == ("failed", "USER_ACTION_NEEDED.TLS")
    assert dovecot.fingerprint in refused.message  # what the owner checks, then pastes
    assert refused.saved == {}
    wrong = await account.run(fingerprint="00" * 32)
    assert wrong.error == "USER_ACTION_NEEDED.TLS" and "not the one trusted" in wrong.message
    pinned = await account.run(fingerprint=dovecot.fingerprint.lower().replace(":", ""))
    assert pinned.status == "ok" and pinned.saved == {BILLS: 2}, pinned.summary()
    starttls = await account.run(security="starttls", port=str(dovecot.plain),
                                 fingerprint=dovecot.fingerprint)
    assert starttls.status == "ok", starttls.summary()
    tls_on_plain = await account.run(port=str(dovecot.plain), fingerprint=dovecot.fingerprint)
    assert tls_on_plain.error == "USER_ACTION_NEEDED.TLS" and "port" in tls_on_plain.message


async def test_errors_say_what_went_wrong(core: Core, dovecot: Dovecot) -> None:
    account = mail_account(core, dovecot)
    login = await account.run(password="not-the-password")
    assert (login.status, login.error) == ("failed", "LOGIN_FAILED")
    assert "refused the login camille" in login.message
    down = await account.run(port=str(free_port()))
    assert down.error == "VENDOR_DOWN" and "can't reach 127.0.0.1" in down.message


async def test_a_refused_password_waits_for_the_owner(box: TestClient,  # noqa: F811
                                                      dovecot: Dovecot) -> None:
    account_id = await add_account(
        box, "imap-invoices", "Mes factures", host="127.0.0.1", port=str(dovecot.plain),
        security="none", login=dovecot.login, password="wrong", mailbox="INBOX",
        senders="edf.fr", subject_words="facture", vendor="", since="365", fingerprint="")
    text = await finished(box, await run_now(box, account_id))
    assert "refused the login camille" in text
    account: dict[str, Any] = scheduler_of(box).accounts.get(account_id)
    assert account["state"] == "needs_user" and account["next_run"] is None


def test_from_a_shell_with_hearth_connector_run(tmp_path: Path, dovecot: Dovecot) -> None:
    fill(dovecot)
    args = ["run", "imap-invoices", "--label", "Factures", "--field", "host=127.0.0.1",
            "--field", f"port={dovecot.plain}", "--field", "security=none",
            "--field", f"login={dovecot.login}", "--field", f"password={dovecot.password}",
            "--field", "senders=edf.fr,free-mobile.fr"]
    first = hearth(*args, data=tmp_path / "data")
    assert first.returncode == 0, first.stderr
    assert last_json(first.stdout)["saved"] == {BILLS: 2}
    assert "INBOX: new messages: 5, matching the rules: 3" in first.stderr
    edf = tmp_path / "data" / "files" / "Connectors" / "Factures" / "EDF"
    assert [p.read_bytes()[:5] for p in edf.iterdir()] == [b"%PDF-"]
    again = last_json(hearth(*args, data=tmp_path / "data").stdout)
    assert (again["saved"], again["files"], again["duplicates"]) == ({}, 0, 4)


async def test_a_renumbered_mailbox_is_read_again_without_saving_twice(
        core: Core, dovecot: Dovecot) -> None:
    fill(dovecot)
    account = mail_account(core, dovecot)
    assert (await account.run()).saved == {BILLS: 2}
    maildir = dovecot.root / "home" / "camille" / "Maildir"
    for index in [maildir / "dovecot-uidlist", *maildir.glob("dovecot.index*")]:
        index.unlink()  # the server forgets its numbering: a new UIDVALIDITY
    again = await account.run()
    assert "INBOX: new messages: 5, matching the rules: 3" in said(again)
    assert (again.status, again.saved, again.files, again.duplicates) == ("ok", {}, 0, 4)


async def test_a_mail_with_a_broken_sender_is_skipped_and_said_and_not_read_again(
        core: Core, dovecot: Dovecot) -> None:
    pdfs = fill(dovecot)
    broken = mail("factures@edf.fr", "Facture", "Montant : 1e999 €",
                  pdf={"f.pdf": tiny_pdf("x")})
    raw = broken.as_bytes().replace(b"From: Service client <factures@edf.fr>", b'From: "')
    # compat32 keeps headers as text: the email package's header parser raises on this one
    dovecot.append(email.message_from_bytes(raw, EmailMessage, policy=compat32))
    account = mail_account(core, dovecot, senders="", subject_words="facture, invoice")
    first = await account.run()
    assert first.status == "ok", first.summary()
    assert first.saved == {BILLS: 3}  # EDF's, Free's, the shop's: the broken one is passed over
    assert "skipped, its headers can't be read: IndexError" in said(first)
    assert pdfs["edf"] in (await drive(core, "EDF")).values()
    again = await account.run()
    assert "new messages: 0" in said(again) and "skipped" not in said(again)
