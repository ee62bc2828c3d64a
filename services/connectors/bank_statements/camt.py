"""ISO 20022 camt.053 (and camt.052) statements, read with pycamt."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

# pycamt looks the account up from the statement element once per entry, a search
# through every entry of the statement: quadratic (16,000 entries took 33 s). The
# entries are given to it a batch at a time instead, so each search sees a batch.
BATCH = 200

from services.connectors.bank_statements.model import (
    Account, Operation, Statement, StatementError, amount_of, iso_day, masked)


def read(fh: BinaryIO, name: str) -> Iterator[Statement]:
    """Yield one statement per account of a camt.053 file."""
    from pycamt.parser import Camt053Parser  # loaded only when a camt file is read

    try:
        parser = Camt053Parser(fh.read())
        infos = parser.get_statement_info()
        transactions = _transactions(parser)
    except Exception as exc:  # lxml's and pycamt's errors alike
        raise StatementError(f"{name} is not a readable camt.053 file: {exc}") from None
    del parser
    by_iban: dict[str, list[dict[str, Any]]] = {}
    for tx in transactions:
        by_iban.setdefault(tx.get("AccountIBAN") or "", []).append(tx)
    for info in infos:
        iban = info.get("IBAN") or ""
        txs = by_iban.pop(iban, [])
        currency = info.get("Currency") or next((t["Currency"] for t in txs if t.get("Currency")),
                                                "")
        closing = info.get("ClosingBalance")
        account = Account(
            key=f"iban:{iban}", label=f"Compte {masked(iban)}", institution=iban[4:9],
            number=iban, currency=currency,
            balance=amount_of(closing) if closing else None,
            balance_date=_day_or_none(info.get("ClosingBalanceDate")))
        statement = Statement(account)
        statement.operations = _operations(txs, currency, name, statement.skipped)
        yield statement


def _day_or_none(text: str | None) -> str | None:
    try:
        return iso_day(text) if text else None
    except StatementError:
        return None


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _transactions(parser: Any) -> list[dict[str, Any]]:
    """Return every transaction of the file, asking pycamt a batch of entries at a time."""
    statements = [el for el in parser.tree.iter() if _local(el.tag) in ("Stmt", "Rpt")]
    entries = []
    for statement in statements:
        mine = [child for child in statement if _local(child.tag) == "Ntry"]
        for entry in mine:
            statement.remove(entry)
        entries.append(mine)
    found: list[dict[str, Any]] = []
    for statement, mine in zip(statements, entries):
        for start in range(0, len(mine), BATCH):
            batch = mine[start:start + BATCH]
            statement.extend(batch)
            found.extend(parser.get_transactions())
            for entry in batch:
                statement.remove(entry)
    if not statements:
        found = parser.get_transactions()  # pycamt says why it can't read the file
    return found


def _operations(txs: list[dict[str, Any]], currency: str, name: str,
                skipped: list[str]) -> Iterator[Operation]:
    for number, tx in enumerate(txs, 1):
        if tx.get("Status") not in (None, "BOOK"):
            continue  # pending entries come again, booked, in a later statement
        try:
            amount = amount_of(tx.get("Amount") or "0")
            day = iso_day(tx.get("BookingDate") or tx.get("ValueDate") or "")
        except StatementError as exc:
            skipped.append(f"{name}: entry {number} skipped: {exc}")
            continue
        debit = tx.get("CreditDebitIndicator") == "DBIT"
        if str(tx.get("ReversalIndicator")).lower() == "true":
            debit = not debit
        party = tx.get("CreditorName") if debit else tx.get("DebtorName")
        remittance = tx.get("RemittanceInformationFull") or tx.get("RemittanceInformation") or ""
        extra = tx.get("AdditionalEntryInformation") or ""
        raw = " ".join(p for p in (party or "", remittance, extra) if p)
        yield Operation(date=day,
                        amount=-amount if debit else amount,
                        label=party or remittance or extra, raw_label=raw,
                        ref=tx.get("TransactionID") or None,
                        value_date=_day_or_none(tx.get("ValueDate")),
                        currency=tx.get("Currency") or currency,
                        type=(tx.get("TransactionSubFamilyCode") or "").lower())
