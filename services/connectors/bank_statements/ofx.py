"""OFX and QFX statements (SGML 1.x and XML 2.x), read with ofxtools.

ofxtools converts a whole file into objects at once: about 640 MiB for 100,000
operations here. Its own parser and its own per-element conversion are used
instead, one operation at a time, each element dropped once converted: the
peak is the parsed tree (about 200 MiB for 100,000 operations).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from services.connectors.bank_statements.model import (
    Account, Operation, Statement, StatementError, bounded, masked)

ACCOUNT_TYPES = {"CHECKING": "checking", "SAVINGS": "savings", "MONEYMRKT": "savings",
                 "CREDITLINE": "loan", "CREDITCARD": "credit_card"}
STATEMENTS = ("STMTRS", "CCSTMTRS")
TRANSACTIONS = "STMTTRN"


def _day(moment: Any) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def read(fh: BinaryIO, name: str) -> Iterator[Statement]:
    """Yield the statements of an OFX file."""
    # ofxtools loads only when an OFX file is read (it is the largest of the parsers).
    from ofxtools.Parser import OFXTree
    from ofxtools.Types import OFXTypeWarning  # likewise
    from ofxtools.models.base import Aggregate  # likewise

    # Banks write names longer than the specification's 32 characters: keep them, quietly.
    warnings.filterwarnings("ignore", category=OFXTypeWarning)
    tree = OFXTree()
    try:
        tree.parse(fh)
        root = tree.getroot()
        if root is None:
            raise ValueError("no OFX element")
        found = [el for el in root.iter() if el.tag in STATEMENTS]
    except Exception as exc:  # ofxtools raises many kinds; all mean "not readable OFX"
        raise StatementError(f"{name} is not a readable OFX file: {exc}") from None
    institution = root.findtext("SIGNONMSGSRSV1/SONRS/FI/ORG") or ""
    for element in found:
        tranlist = element.find("BANKTRANLIST")
        pending: list[Any] = []
        if tranlist is not None:
            # Converted one by one below; the statement converts without them.
            pending = [child for child in tranlist if child.tag == TRANSACTIONS]
            tranlist[:] = [child for child in tranlist if child.tag != TRANSACTIONS]
        try:
            stmt = Aggregate.from_etree(element)
            account = _account(stmt, institution)
        except Exception as exc:
            raise StatementError(f"{name} is not a readable OFX file: {exc}") from None
        statement = Statement(account)
        statement.operations = _operations(pending, stmt.curdef or "", name, Aggregate,
                                           statement.skipped)
        yield statement


def _account(stmt: Any, institution: str) -> Account:
    acct = stmt.account
    bank = getattr(acct, "bankid", "") or ""
    number = acct.acctid
    balance = getattr(stmt, "balance", None)
    return Account(
        key=f"ofx:{bank}:{getattr(acct, 'branchid', '') or ''}:{number}",
        label=f"Compte {masked(number)}", institution=institution or bank, number=number,
        type=ACCOUNT_TYPES.get(getattr(acct, "accttype", "CREDITCARD") or "", "checking"),
        currency=stmt.curdef or "",
        balance=bounded(balance.balamt) if balance is not None else None,
        balance_date=_day(balance.dtasof) if balance is not None else None)


def _operations(pending: list[Any], currency: str, name: str, aggregate: Any,
                skipped: list[str]) -> Iterator[Operation]:
    for index in range(len(pending)):
        try:
            tx = aggregate.from_etree(pending[index])
            amount = bounded(tx.trnamt)
        except Exception as exc:  # ofxtools raises many kinds; the others are still read
            skipped.append(f"{name}: operation {index + 1} can't be read, skipped: {exc}")
            continue
        finally:
            pending[index] = None  # its element can go now
        name_, memo = (tx.name or "").strip(), (tx.memo or "").strip()
        currency_ = tx.currency.cursym if getattr(tx, "currency", None) else currency
        yield Operation(date=tx.dtposted.date().isoformat(), amount=amount,
                        label=name_ or memo, raw_label=" ".join(p for p in (name_, memo) if p),
                        ref=tx.fitid or None, value_date=_day(getattr(tx, "dtavail", None)),
                        currency=currency_, type=(tx.trntype or "").lower())
