"""QIF statements, read with quiffen (amounts are normalised first: see below)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from services.connectors.bank_statements.model import (
    Account, Operation, Statement, StatementError, amount_of)
from services.connectors.bank_statements.text import decode

_AMOUNT_CODES = ("T", "U", "$")
_NUMBER = re.compile(r"^[+\-\u2212]?[\d\s.,'\u00a0\u202f]+$")


def _normalise(text: str) -> str:
    # quiffen reads "-23,45" as -2345: French exports write amounts with a decimal
    # comma, so every amount line is rewritten with a decimal point first.
    lines = []
    for line in text.splitlines():
        if line[:1] in _AMOUNT_CODES and _NUMBER.match(line[1:].strip()):
            line = line[0] + str(amount_of(line[1:]))
        lines.append(line)
    return "\n".join(lines)


def read(fh: BinaryIO, name: str, *, account_key: str, account_label: str,
         currency: str) -> Iterator[Statement]:
    """Yield the statements of a QIF file (one per account it names)."""
    from quiffen import Qif  # loaded only when a QIF file is read

    text = _normalise(decode(fh.read(), name))
    try:
        qif = Qif.parse_string(text.strip(), day_first=True)
    except Exception as exc:  # quiffen raises many kinds; all mean "not readable QIF"
        raise StatementError(f"{name} is not a readable QIF file: {exc}") from None
    named = len(qif.accounts) > 1 or "Quiffen Default" not in next(iter(qif.accounts), "")
    for acc_name, acc in qif.accounts.items():
        key = f"{account_key}:{acc_name}" if named else account_key
        label = acc_name if named else account_label
        balance = getattr(acc, "balance", None)
        account = Account(key=key, label=label, currency=currency,
                          balance=balance if balance is not None else None)
        yield Statement(account, _operations(acc, currency))


def _operations(acc: Any, currency: str) -> Iterator[Operation]:
    for kind, transactions in acc.transactions.items():
        for tx in transactions:
            payee, memo = (tx.payee or "").strip(), (tx.memo or "").strip()
            category = tx.category.name if tx.category is not None else ""
            yield Operation(date=tx.date.date().isoformat(), amount=tx.amount,
                            label=payee or memo, raw_label=" ".join(p for p in (payee, memo) if p),
                            ref=None, currency=currency, category=category,
                            type=str(getattr(kind, "value", kind)).lower())
