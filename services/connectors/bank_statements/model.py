"""What every statement format comes down to: accounts and their operations."""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from services.connectors.money import MAX_AMOUNT, sane


class StatementError(ValueError):
    """A statement file can't be read; the message names the file and the problem."""


@dataclass
class Account:
    """A bank account as a statement describes it; `key` identifies it across files."""

    key: str
    label: str
    institution: str = ""
    number: str = ""  # in full here; only its end is stored
    type: str = "checking"
    currency: str = ""
    balance: Decimal | None = None
    balance_date: str | None = None


@dataclass
class Operation:
    """One line of a statement; `ref` is the bank's own id (FITID, AcctSvcrRef) if any."""

    date: str  # YYYY-MM-DD
    amount: Decimal
    label: str
    raw_label: str = ""
    ref: str | None = None
    value_date: str | None = None
    currency: str = ""
    type: str = ""
    category: str = ""


@dataclass
class Statement:
    """An account and its operations, as read from one file."""

    account: Account
    operations: Iterator[Operation] = field(default_factory=lambda: iter(()))
    # Why each operation left out was left out, filled in while `operations` is read.
    skipped: list[str] = field(default_factory=list)


def masked(number: str) -> str:
    """Return an account number with all but its last four characters hidden."""
    digits = "".join(number.split())
    return f"•••• {digits[-4:]}" if len(digits) > 4 else digits


def amount_of(text: str) -> Decimal:
    """Return an amount written the French or the English way ("1 234,56", "-1,234.56")."""
    cleaned = "".join(text.split()).replace("\u2212", "-").replace("'", "")
    cleaned = cleaned.replace("€", "").replace("EUR", "")
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise StatementError(f"{text[:40]!r} is not an amount") from None
    return bounded(value, text)


def bounded(value: Decimal, text: object = None) -> Decimal:
    """Return an amount if it is finite and within MAX_AMOUNT; StatementError if not."""
    if not sane(value):
        shown = str(value if text is None else text)[:40]
        raise StatementError(f"{shown!r} is not an amount (more than {MAX_AMOUNT:,.0f} "
                             f"or not a number)")
    return value


def iso_day(text: str) -> str:
    """Return a YYYY-MM-DD date if `text` starts with a real one; StatementError if not."""
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise StatementError(f"{text[:40]!r} is not a date") from None


class References:
    """Gives each operation of a file a reference that is the same at every import.

    The bank's own id when it has one; else a hash of the date, amount and label.
    Either way, the n-th repeat of the same reference within one account and
    file gets "#n": two identical coffees on one day stay two operations, and
    importing the file again (or an export that overlaps it) finds both.
    """

    def __init__(self) -> None:
        self._seen: Counter[tuple[str, str]] = Counter()

    def of(self, account_key: str, op: Operation) -> str:
        """Return the stable reference of an operation of an account."""
        if op.ref:
            base = f"id:{op.ref}"
        else:
            text = f"{op.date}|{op.amount:.2f}|{' '.join(op.raw_label.split()).upper()}"
            base = "h:" + hashlib.sha256(text.encode()).hexdigest()[:20]
        index = self._seen[(account_key, base)]
        self._seen[(account_key, base)] += 1
        return base if index == 0 else f"{base}#{index}"
