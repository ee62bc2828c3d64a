"""CSV exports: the columns of common French banks, semicolons, decimal commas, dd/mm/yyyy.

There is no standard, so the header row is found by its column names (a few
lines of account details often come first), each column is matched against the
names banks use, and the separator and encoding are guessed (`;` and cp1252 for
most French banks).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from services.connectors.bank_statements.model import (
    Account, Operation, Statement, StatementError, amount_of, bounded)
from services.connectors.bank_statements.text import decode

# Column names, without accents, spaces or punctuation, as French (and a few
# English) banks write them: Société Générale, BNP Paribas, La Banque Postale,
# Crédit Agricole, Crédit Mutuel/CIC, Boursorama, Fortuneo, LCL…
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "dateoperation", "datedeloperation", "dateop", "datecomptable",
             "datecompta", "bookingdate", "transactiondate"),
    "value_date": ("datedevaleur", "dateval", "datevaleur", "valuedate"),
    "label": ("libelle", "libelleoperation", "libellesimplifie", "label", "description",
              "wording", "intitule", "libelledeloperation"),
    "detail": ("detaildelecriture", "libellecomplet", "informationscomplementaires",
               "detail", "comment", "commentaire"),
    "amount": ("montant", "montantdeloperation", "montantoperation", "montanteuros",
               "montanteur", "amount", "montanteneur"),
    "debit": ("debit", "debiteuros", "debiteur", "debits"),
    "credit": ("credit", "crediteuros", "crediteur", "credits"),
    "currency": ("devise", "currency", "monnaie"),
    "category": ("categorie", "category", "souscategorie"),
}
_ACCOUNT_LINE = re.compile(r"(num[eé]ro de compte|n° de compte|compte n°|num[eé]ro compte)"
                           r"[^0-9A-Z]*([0-9A-Z ]{5,34})", re.IGNORECASE)
_QUOTED_NUMBER = re.compile(r'^="?([0-9A-Z]{5,34})"?')
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$|^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Layout:
    """Where each kind of column is in a header row."""

    columns: dict[str, int]

    @classmethod
    def find(cls, row: list[str]) -> Layout | None:
        """Return the layout a header row gives, or None if it is not a header."""
        found: dict[str, int] = {}
        for index, cell in enumerate(row):
            name = _plain(cell)
            for kind, names in COLUMNS.items():
                if name in names and kind not in found:
                    found[kind] = index
                    break
        has_amount = "amount" in found or ("debit" in found and "credit" in found)
        if "date" in found and has_amount and ("label" in found or "detail" in found):
            return cls(found)
        return None

    def cell(self, row: list[str], kind: str) -> str:
        """Return a row's cell of one kind ('' if the layout has none)."""
        index = self.columns.get(kind)
        return row[index].strip() if index is not None and index < len(row) else ""


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().strip('"').lower())
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def day_of(text: str) -> str:
    """Return an ISO date from dd/mm/yyyy, dd/mm/yy, dd.mm.yyyy or yyyy-mm-dd."""
    found = _DATE.match(text.strip())
    if not found:
        raise StatementError(f"{text!r} is not a date")
    try:
        if found.group(4):
            return date(int(found.group(4)), int(found.group(5)), int(found.group(6))).isoformat()
        year = int(found.group(3))
        year += 2000 if year < 100 else 0
        return date(year, int(found.group(2)), int(found.group(1))).isoformat()
    except ValueError:
        raise StatementError(f"{text!r} is not a date") from None


def _delimiter(line: str) -> str:
    return max(";\t,|", key=line.count)


def read(fh: BinaryIO, name: str, *, account_key: str, account_label: str,
         currency: str) -> Iterator[Statement]:
    """Yield the one statement of a CSV export."""
    text = decode(fh.read(), name)
    lines = text.splitlines()
    layout, number, start = None, "", 0
    for start, line in enumerate(lines[:40]):
        delimiter = _delimiter(line)
        layout = Layout.find(next(csv.reader([line], delimiter=delimiter), []))
        if layout is not None:
            break
        number = number or _account_number(line)
    if layout is None:
        raise StatementError(f"{name}: no header row with a date, a label and an amount "
                             f"was found in its first 40 lines")
    key = f"account:{number}" if number else account_key
    label = f"Compte {number[-4:]}" if number else account_label
    account = Account(key=key, label=label, number=number, currency=currency)
    rows = csv.reader(lines[start + 1:], delimiter=delimiter)
    statement = Statement(account)
    statement.operations = _operations(rows, layout, currency, name, start + 2,
                                       statement.skipped)
    yield statement


def _account_number(line: str) -> str:
    found = _ACCOUNT_LINE.search(line) or _QUOTED_NUMBER.match(line.strip())
    return "".join(found.group(found.lastindex or 1).split()) if found else ""


def _operations(rows: Iterator[list[str]], layout: Layout, currency: str, name: str,
                first_line: int, skipped: list[str]) -> Iterator[Operation]:
    for number, row in enumerate(rows, first_line):
        if not any(cell.strip() for cell in row):
            continue
        try:
            when = day_of(layout.cell(row, "date"))
        except StatementError:
            continue  # a total or a footer line, not an operation
        try:
            if "amount" in layout.columns:
                amount = amount_of(layout.cell(row, "amount"))
            else:
                debit = layout.cell(row, "debit")
                credit = layout.cell(row, "credit")
                amount = bounded((amount_of(credit) if credit else Decimal(0)) -
                                 abs(amount_of(debit) if debit else Decimal(0)))
        except StatementError as exc:
            skipped.append(f"{name}, line {number} skipped: {exc}")
            continue
        label, detail = layout.cell(row, "label"), layout.cell(row, "detail")
        value_date = layout.cell(row, "value_date")
        yield Operation(date=when, amount=amount, label=" ".join((label or detail).split()),
                        raw_label=" ".join(" ".join(p for p in (label, detail) if p).split()),
                        value_date=day_of(value_date) if _DATE.match(value_date) else None,
                        currency=layout.cell(row, "currency") or currency,
                        category=layout.cell(row, "category"))
