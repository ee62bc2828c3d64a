"""QIF statements, read with quiffen (amounts are normalised first: see below).

quiffen's errors are pydantic's, whose message shows the input it refused: a
category with its parent and children, each shown with theirs, so the message
of a deep category ("Lc0:c1:…:c12") took exponential time to write (a 291-byte
file: 38 s). Only the location and the reason of each error are shown here.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from services.connectors.bank_statements.model import (
    Account, Operation, Statement, StatementError, amount_of, bounded)
from services.connectors.bank_statements.text import decode

_AMOUNT_CODES = ("T", "U", "$")
_NUMBER = re.compile(r"^[+\-\u2212]?[\d\s.,'\u00a0\u202f]+$")
MAX_REASON = 300  # characters of quiffen's own words kept in the error shown


def _normalise(text: str) -> str:
    # quiffen reads "-23,45" as -2345: French exports write amounts with a decimal
    # comma, so every amount line is rewritten with a decimal point first.
    lines = []
    for line in text.splitlines():
        if line[:1] in _AMOUNT_CODES and _NUMBER.match(line[1:].strip()):
            try:
                line = line[0] + str(amount_of(line[1:]))
            except StatementError:
                pass  # quiffen refuses it, or its operation is skipped below
        lines.append(line)
    return "\n".join(lines)


def reason(exc: Exception) -> str:
    """Return what quiffen refused, without the input (see the module's docstring)."""
    errors = getattr(exc, "errors", None)  # pydantic's ValidationError
    if callable(errors):
        said = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in errors(include_url=False, include_context=False, include_input=False))
    else:
        said = f"{type(exc).__name__}: {exc}"
    return said[:MAX_REASON]


def read(fh: BinaryIO, name: str, *, account_key: str, account_label: str,
         currency: str) -> Iterator[Statement]:
    """Yield the statements of a QIF file (one per account it names)."""
    from quiffen import Qif  # loaded only when a QIF file is read

    text = _normalise(decode(fh.read(), name))
    try:
        qif = Qif.parse_string(text.strip(), day_first=True)
    except Exception as exc:  # quiffen raises many kinds; all mean "not readable QIF"
        raise StatementError(f"{name} is not a readable QIF file: {reason(exc)}") from None
    named = len(qif.accounts) > 1 or "Quiffen Default" not in next(iter(qif.accounts), "")
    for acc_name, acc in qif.accounts.items():
        key = f"{account_key}:{acc_name}" if named else account_key
        label = acc_name if named else account_label
        balance = getattr(acc, "balance", None)
        account = Account(key=key, label=label, currency=currency,
                          balance=bounded(balance) if balance is not None else None)
        statement = Statement(account)
        statement.operations = _operations(acc, currency, name, statement.skipped)
        yield statement


def _operations(acc: Any, currency: str, name: str, skipped: list[str]) -> Iterator[Operation]:
    for kind, transactions in acc.transactions.items():
        for number, tx in enumerate(transactions, 1):
            if tx.date is None or tx.amount is None:
                skipped.append(f"{name}: operation {number} has no date or no amount, skipped")
                continue
            try:
                amount = bounded(tx.amount)
            except StatementError as exc:
                skipped.append(f"{name}: operation {number} skipped: {exc}")
                continue
            payee, memo = (tx.payee or "").strip(), (tx.memo or "").strip()
            category = tx.category.name if tx.category is not None else ""
            yield Operation(date=tx.date.date().isoformat(), amount=amount,
                            label=payee or memo, raw_label=" ".join(p for p in (payee, memo) if p),
                            ref=None, currency=currency, category=category,
                            type=str(getattr(kind, "value", kind)).lower())
