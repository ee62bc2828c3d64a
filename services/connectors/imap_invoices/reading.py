"""One run of imap-invoices: which mails to read, and what each becomes in the Drive and store."""
from __future__ import annotations

import asyncio
import email
import hashlib
import os
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

from appliance.jobs.connector import Context
from services.connectors.filenames import safe_name
from services.connectors.imap_invoices.amounts import find_amount
from services.connectors.imap_invoices.invoice import (Rules, message_date, message_ref, pdfs,
                                                       sender_of, text_of)
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
    wanted = [uid for uid, raw in heads.items() if _picked(rules, raw)]
    ctx.logger.info("%s: new messages: %d, matching the rules: %d", name, len(uids),
                    len(wanted))
    saved = 0
    for uid in wanted:
        raw, received = await asyncio.to_thread(box.message, uid)
        saved += await _keep(ctx, rules, _parse(raw), received)
    high = max([*uids, box.uidnext - 1, after or 0])
    ctx.save_session({"v": SESSION_VERSION, "where": where, "rules": rules.digest(),
                      "uidvalidity": validity, "uid": high})
    ctx.logger.info("PDF invoices sent: %d", saved)


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default makes EmailMessage objects
    return parsed


def _picked(rules: Rules, raw_headers: bytes) -> bool:
    head = _parse(raw_headers)
    return rules.matches(sender_of(head), str(head.get("Subject") or ""))


async def _keep(ctx: Context, rules: Rules, msg: EmailMessage, received: datetime) -> int:
    """Send the mail's PDFs and one bill for each; return how many."""
    sender = sender_of(msg)
    attached = pdfs(msg)
    subject = str(msg.get("Subject") or "")
    if not attached:
        ctx.logger.info("%s, %r: no PDF attached, skipped", sender, subject[:80])
        return 0
    vendor = safe_name(rules.vendor_for(sender), "Unknown")
    day = message_date(msg, received)
    # One amount for several PDFs would be a guess: it is said only for a lone invoice.
    amount = find_amount(subject, text_of(msg)) if len(attached) == 1 else None
    ref = message_ref(msg)
    for name, data in attached:
        vendor_ref = f"{ref}/{name}"
        stem, ext = os.path.splitext(safe_name(name, "invoice.pdf"))
        # Suppliers reuse names (invoice.pdf): the reference keeps two mails' files apart.
        tag = hashlib.sha256(vendor_ref.encode()).hexdigest()[:6]
        await ctx.save_file(safe_name(f"{day} {stem} {tag}{ext or '.pdf'}", "invoice.pdf"),
                            data, folder=vendor, key=vendor_ref)
        record: dict[str, Any] = {"vendor": vendor, "date": day, "vendor_ref": vendor_ref,
                                  "file": {"$file": vendor_ref}}
        if amount is not None:
            record.update(amount=amount[0], currency=amount[1])
        ctx.save(BILLS, record)
    return len(attached)
