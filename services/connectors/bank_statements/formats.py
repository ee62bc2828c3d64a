"""Telling statement formats apart, by their first bytes, then by their name."""
from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import BinaryIO

from services.connectors.bank_statements import camt, delimited, ofx, qif
from services.connectors.bank_statements.model import Statement, StatementError

EXTENSIONS = {".ofx": "ofx", ".qfx": "ofx", ".xml": "camt", ".053": "camt", ".qif": "qif",
              ".csv": "csv", ".txt": "csv"}


def sniff(head: bytes, name: str) -> str | None:
    """Return ofx, camt, qif or csv for a file's first bytes and name, or None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if text.startswith(b"OFXHEADER") or b"<OFX>" in text or b"<?OFX" in text:
        return "ofx"
    if text.startswith(b"<?XML") or text.startswith(b"<DOCUMENT"):
        return "camt" if b"CAMT.05" in text else None
    if text.startswith((b"!TYPE:", b"!ACCOUNT", b"!OPTION", b"!CLEAR")):
        return "qif"
    if b"\x00" in head:
        return None
    return EXTENSIONS.get(posixpath.splitext(name)[1].lower())


def statements(fh: BinaryIO, name: str, *, account_key: str, account_label: str,
               currency: str) -> Iterator[Statement]:
    """Yield the statements of a file in any known format; StatementError if unreadable."""
    kind = sniff(fh.read(4096), name)
    fh.seek(0)
    if kind == "ofx":
        return ofx.read(fh, name)
    if kind == "camt":
        return camt.read(fh, name)
    fallback = {"account_key": account_key, "account_label": account_label,
                "currency": currency}
    if kind == "qif":
        return qif.read(fh, name, **fallback)
    if kind == "csv":
        return delimited.read(fh, name, **fallback)
    raise StatementError(f"{name} is not a statement Hearth can read "
                         f"(OFX, QFX, camt.053, QIF or CSV)")
