"""What an invoice mail holds: whether it matches the owner's rules, its vendor, date and PDFs."""
from __future__ import annotations

import email
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from appliance.files.names import fold
from services.connectors.imap_invoices.amounts import find_amount

# Second-level labels under which a country's domains are registered (bill.bt.co.uk → BT).
_SHARED = {"co", "com", "org", "net", "gov", "gouv", "ac", "asso", "ne", "or"}
MAX_TEXT = 100_000  # characters of a mail's text searched for an amount
# What the email package raises on a malformed mail besides its own errors: its header
# parser fails with IndexError or AttributeError on a lone '"' or "a@[" in From:, a year
# of 25 digits in Date: overflows, a deep nest of parts recurses.
_MALFORMED = (MessageError, LookupError, AttributeError, TypeError, ValueError,
              OverflowError, RecursionError)


class MailError(ValueError):
    """A mail can't be read (a malformed header or part); the message says what failed."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in value.split(",")) if part)


def sender_of(headers: Mapping[str, str] | EmailMessage) -> str:
    """Return the sender's address in lower case ("" if there is none)."""
    found = getaddresses([str(headers.get("From") or "")])
    return found[0][1].strip().lower() if found else ""


@dataclass(frozen=True)
class Rules:
    """Which mails are invoices: from these senders and with one of these words in the subject."""

    senders: tuple[str, ...]  # addresses (billing@edf.fr) or domains (edf.fr)
    words: tuple[str, ...]  # folded: no case, no accents
    vendor: str

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Rules:
        """Return the rules an account's fields describe."""
        senders = tuple(s.lower().lstrip("@") for s in _split(fields.get("senders", "")))
        words = tuple(fold(w) for w in _split(fields.get("subject_words", "")) if w != "*")
        return cls(senders, words, fields.get("vendor", "").strip())

    def digest(self) -> str:
        """Return a short fingerprint of the rules (a change means looking back again)."""
        return hashlib.sha256(repr((self.senders, self.words)).encode()).hexdigest()[:16]

    def matches(self, sender: str, subject: str) -> bool:
        """Tell whether a mail from `sender` with this subject is an invoice to keep."""
        domain = sender.rpartition("@")[2]
        if self.senders and not any(
                sender == rule if "@" in rule else domain == rule or domain.endswith("." + rule)
                for rule in self.senders):
            return False
        folded = fold(subject)
        return not self.words or any(word in folded for word in self.words)

    def vendor_for(self, sender: str) -> str:
        """Return the configured vendor, else one named after the sender's domain."""
        return self.vendor or vendor_of(sender.rpartition("@")[2])


def vendor_of(domain: str) -> str:
    """Return a vendor name from a mail domain: edf.fr → EDF, mail.free-mobile.fr → Free-Mobile."""
    labels = [label for label in domain.lower().split(".") if label]
    if len(labels) >= 3 and labels[-2] in _SHARED and len(labels[-1]) == 2:
        labels = labels[:-1]
    name = labels[-2] if len(labels) >= 2 else (labels[0] if labels else "")
    if not name:
        return "Unknown"
    if len(name) <= 3:
        return name.upper()
    return "-".join(part.capitalize() for part in name.split("-"))


def message_date(msg: EmailMessage, fallback: datetime) -> str:
    """Return the day the mail was sent (YYYY-MM-DD), else the day the server received it."""
    try:
        sent = parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError, IndexError, OverflowError):  # no date, or none on Earth
        sent = fallback
    return sent.date().isoformat()


def message_ref(msg: EmailMessage) -> str:
    """Return the mail's Message-ID, else a digest of what identifies it."""
    found = str(msg.get("Message-ID") or "").strip()
    if found:
        return found
    seed = "\0".join(str(msg.get(h) or "") for h in ("From", "Date", "Subject"))
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def pdfs(msg: EmailMessage) -> list[tuple[str, bytes]]:
    """Return the PDF files attached to the mail: (file name, content)."""
    found: list[tuple[str, bytes]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        kind = part.get_content_type()
        if kind != "application/pdf" and not (
                kind == "application/octet-stream" and name.lower().endswith(".pdf")):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data.startswith(b"%PDF"):
            found.append((_unique(name or "invoice.pdf", {n for n, _ in found}), data))
    return found


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    number = 1
    while name in taken:  # two attachments of one mail with one name: both kept
        number += 1
        name = f"{stem} ({number}){dot}{ext}"
    return name


def text_of(msg: EmailMessage) -> str:
    """Return the mail's readable text (plain, else HTML without its tags)."""
    plain: list[str] = []
    rich: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_filename():
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            content = str(part.get_content())
        except (LookupError, ValueError):  # an unknown charset: the text can't be read
            continue
        (plain if kind == "text/plain" else rich).append(content)
    if plain:
        return "\n".join(plain)[:MAX_TEXT]
    text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", "\n".join(rich), flags=re.S | re.I)
    return html.unescape(text)[:MAX_TEXT]


@dataclass(frozen=True)
class Invoice:
    """What a mail from a supplier holds: who sent it, when, its PDFs and the amount stated."""

    sender: str
    subject: str
    day: str  # YYYY-MM-DD
    ref: str  # the Message-ID, else a digest
    attached: list[tuple[str, bytes]]
    amount: tuple[float, str] | None  # stated only for a lone PDF: see read_invoice


def parse(raw: bytes) -> EmailMessage:
    """Return a mail's message object (its headers are parsed when read: see read_invoice)."""
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default makes EmailMessage objects
    return parsed


def _unreadable(exc: BaseException) -> MailError:
    return MailError(f"{type(exc).__name__}: {exc}"[:200])


def picked(rules: Rules, raw_headers: bytes) -> bool:
    """Tell whether a mail's headers make it an invoice to keep; MailError if unreadable."""
    try:
        head = parse(raw_headers)
        return rules.matches(sender_of(head), str(head.get("Subject") or ""))
    except _MALFORMED as exc:
        raise _unreadable(exc) from None


def read_invoice(raw: bytes, received: datetime) -> Invoice:
    """Return what a whole mail holds; MailError if a header or a part can't be read."""
    try:
        msg = parse(raw)
        attached = pdfs(msg)
        subject = str(msg.get("Subject") or "")
        # One amount for several PDFs would be a guess: it is said only for a lone invoice.
        amount = find_amount(subject, text_of(msg)) if len(attached) == 1 else None
        return Invoice(sender_of(msg), subject, message_date(msg, received), message_ref(msg),
                       attached, amount)
    except _MALFORMED as exc:
        raise _unreadable(exc) from None
