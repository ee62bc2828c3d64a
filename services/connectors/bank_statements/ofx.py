"""OFX and QFX statements (SGML 1.x and XML 2.x), read with ofxtools."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from services.connectors.bank_statements.model import Account, Operation, Statement, StatementError

ACCOUNT_TYPES = {"CHECKING": "checking", "SAVINGS": "savings", "MONEYMRKT": "savings",
                 "CREDITLINE": "loan", "CREDITCARD": "credit_card"}


def _day(moment: Any) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def read(fh: BinaryIO, name: str) -> Iterator[Statement]:
    """Yield the statements of an OFX file."""
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(fh)
        ofx = tree.convert()
    except Exception as exc:  # ofxtools raises many kinds; all mean "not readable OFX"
        raise StatementError(f"{name} is not a readable OFX file: {exc}") from None
    del tree
    institution = ""
    signon = getattr(ofx, "sonrs", None)
    if signon is not None and getattr(signon, "fi", None) is not None:
        institution = signon.fi.org or ""
    for stmt in ofx.statements:
        acct = stmt.account
        bank = getattr(acct, "bankid", "") or ""
        number = acct.acctid
        kind = ACCOUNT_TYPES.get(getattr(acct, "accttype", "CREDITCARD") or "", "checking")
        balance = getattr(stmt, "balance", None)
        account = Account(
            key=f"ofx:{bank}:{getattr(acct, 'branchid', '') or ''}:{number}",
            label=f"{institution or bank or 'Compte'} {number[-4:]}".strip(),
            institution=institution or bank, number=number, type=kind,
            currency=stmt.curdef or "",
            balance=balance.balamt if balance is not None else None,
            balance_date=_day(balance.dtasof) if balance is not None else None)
        yield Statement(account, _operations(stmt, account.currency))


def _operations(stmt: Any, currency: str) -> Iterator[Operation]:
    for tx in stmt.transactions:
        name, memo = (tx.name or "").strip(), (tx.memo or "").strip()
        raw = " ".join(part for part in (name, memo) if part)
        yield Operation(date=tx.dtposted.date().isoformat(), amount=tx.trnamt,
                        label=name or memo, raw_label=raw, ref=tx.fitid or None,
                        value_date=_day(getattr(tx, "dtavail", None)),
                        currency=getattr(tx, "currency", None) and tx.currency.cursym or currency,
                        type=(tx.trntype or "").lower())
