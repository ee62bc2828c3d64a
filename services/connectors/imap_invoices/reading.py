"""One run of imap-invoices: which mails to read, and what each becomes in the Drive and store."""
from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from appliance.jobs.connector import Context
from services.connectors.filenames import safe_name
from services.connectors.imap_invoices.invoice import (Invoice, MailError, Rules, picked,
                                                       read_invoice)
from services.connectors.imap_invoices.mailbox import Mailbox, Server, talking

BILLS = "io.hearth.bills"
SESSION_VERSION = 1


def _where(server: Server, mailbox: str) -> str:
    seed = f"{server.host}\0{server.port}\0{server.login}\0{mailbox}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def resume_after(session: dict[str, Any] | None, where: str, rules: Rules,
                 validity: int) -> int | None:
    """Return the last UID read by an earlier run of the same mailbox and rules, else None."""
    if not session or session.get("v") != SESSION_VERSION:
        return None
    same = (session.get("where"), session.get("rules"), session.get("uidvalidity")) == (
        where, rules.digest(), validity)
    last = session.get("uid")
    return last if same and isinstance(last, int) else None


async def read_mailbox(ctx: Context, fields: Mapping[str, str]) -> None:
    """Read the mailbox's new mail; send each invoice's PDFs and bills; remember where it stopped."""
    server = Server.from_fields(fields)
    rules = Rules.from_fields(fields)
    name = fields.get("mailbox") or "INBOX"
    box = await asyncio.to_thread(Mailbox.open, server)
    try:
        with talking(server):
            await _read(ctx, box, rules, name, _where(server, name),
                        date.today() - timedelta(days=int(fields.get("since") or 365)))
    finally:
        await asyncio.to_thread(box.close)


async def _read(ctx: Context, box: Mailbox, rules: Rules, name: str, where: str,
                since: date) -> None:
    validity = await asyncio.to_thread(box.examine, name)
    after = resume_after(ctx.session, where, rules, validity)
    uids = await asyncio.to_thread(box.search, since=since, after=after)
    heads = await asyncio.to_thread(box.headers, uids)
    wanted = []
    for uid, raw_headers in sorted(heads.items()):
        try:
            if picked(rules, raw_headers):
                wanted.append(uid)
        except MailError as exc:
            ctx.logger.warning("%s: message %d skipped, its headers can't be read: %s",
                               name, uid, exc)
    ctx.logger.info("%s: new messages: %d, matching the rules: %d", name, len(uids),
                    len(wanted))

    def done_up_to(uid: int) -> None:
        ctx.save_session({"v": SESSION_VERSION, "where": where, "rules": rules.digest(),
                          "uidvalidity": validity, "uid": uid})

    saved = 0
    for uid in wanted:
        raw, received = await asyncio.to_thread(box.message, uid)
        try:
            invoice = read_invoice(raw, received)
        except MailError as exc:  # the same mail would fail every run: it is passed over
            ctx.logger.warning("%s: message %d skipped, it can't be read: %s", name, uid, exc)
        else:
            saved += await _keep(ctx, rules, invoice)
        # Every message up to this one is done: a run that stops later starts after it.
        done_up_to(uid)
    done_up_to(max([*uids, box.uidnext - 1, after or 0]))
    ctx.logger.info("PDF invoices sent: %d", saved)


async def _keep(ctx: Context, rules: Rules, invoice: Invoice) -> int:
    """Send the mail's PDFs and one bill for each; return how many."""
    if not invoice.attached:
        ctx.logger.info("%s, %r: no PDF attached, skipped", invoice.sender,
                        invoice.subject[:80])
        return 0
    vendor = safe_name(rules.vendor_for(invoice.sender), "Unknown")
    for name, data in invoice.attached:
        vendor_ref = f"{invoice.ref}/{name}"
        stem, ext = os.path.splitext(safe_name(name, "invoice.pdf"))
        # Suppliers reuse names (invoice.pdf): the reference keeps two mails' files apart.
        tag = hashlib.sha256(vendor_ref.encode()).hexdigest()[:6]
        await ctx.save_file(safe_name(f"{invoice.day} {stem} {tag}{ext or '.pdf'}",
                                      "invoice.pdf"),
                            data, folder=vendor, key=vendor_ref)
        record: dict[str, Any] = {"vendor": vendor, "date": invoice.day,
                                  "vendor_ref": vendor_ref, "file": {"$file": vendor_ref}}
        if invoice.amount is not None:
            record.update(amount=invoice.amount[0], currency=invoice.amount[1])
        ctx.save(BILLS, record)
    return len(invoice.attached)
