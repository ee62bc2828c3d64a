"""woob's bank and bill objects as Hearth's records (the shapes bank-statements writes)."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.connectors.bank_statements.model import Operation, References, masked


def value(obj: Any, name: str) -> Any:
    """Return a woob field's value, or None when woob has none (NotLoaded, NotAvailable)."""
    from woob.capabilities.base import empty  # woob is optional: loaded only in a woob run

    found = getattr(obj, name, None)
    return None if empty(found) else found


def _day(when: Any) -> str | None:
    if isinstance(when, datetime):
        return when.date().isoformat()
    return when.isoformat() if isinstance(when, date) else None


def _type_name(obj: Any) -> str:
    """Return a woob type (Account.TYPE_CHECKING, Transaction.TYPE_CARD…) by name: "checking"."""
    kind = value(obj, "type")
    names = {getattr(type(obj), n): n[5:].lower() for n in dir(type(obj))
             if n.startswith("TYPE_")}
    return names.get(kind, "unknown") if kind is not None else "unknown"


def account_ref(module: str, login: str, account: Any) -> str:
    """Return an account's stable reference: a hash of the module, the login and its id."""
    key = f"woob|{module}|{login}|{account.id}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def account_record(module: str, login: str, account: Any) -> dict[str, Any]:
    """Return an io.hearth.bank.accounts record for a woob Account."""
    balance = value(account, "balance")
    return {"label": value(account, "label") or account.id,
            "institution": value(account, "bank_name") or module,
            "number": masked(value(account, "number") or value(account, "iban") or ""),
            "type": _type_name(account), "currency": value(account, "currency") or "EUR",
            "balance": float(balance) if balance is not None else None,
            "balance_date": date.today().isoformat(),
            "vendor_ref": account_ref(module, login, account)}


def operation_record(account_id: str, currency: str, tr: Any, refs: References,
                     account_key: str) -> dict[str, Any] | None:
    """Return an io.hearth.bank.operations record, None for a pending (coming) one."""
    when = _day(value(tr, "date"))
    amount = value(tr, "amount")
    if value(tr, "coming") or when is None or amount is None:
        return None
    label = value(tr, "label") or value(tr, "raw") or ""
    op = Operation(date=when, amount=Decimal(amount), label=label,
                   raw_label=value(tr, "raw") or label, ref=tr.id or None)
    return {"account": account_id, "date": when, "value_date": _day(value(tr, "vdate")),
            "amount": float(amount), "label": label, "raw_label": op.raw_label,
            "currency": currency, "type": _type_name(tr),
            "category": value(tr, "category"),
            "vendor_ref": refs.of(account_key, op), "bills": [], "reimbursements": []}


def bill_record(module: str, subscription: Any, bill: Any) -> dict[str, Any]:
    """Return an io.hearth.bills record for a woob Bill (or any Document with a price)."""
    price = value(bill, "total_price")
    return {"vendor": module, "vendor_ref": bill.id, "date": _day(value(bill, "date")),
            "amount": abs(float(price)) if price is not None else None,
            "currency": value(bill, "currency") or "EUR",
            "type": value(bill, "type") or "bill", "label": value(bill, "label") or "",
            "is_refund": price is not None and price < 0,
            "subscription": value(subscription, "label") or subscription.id}


def file_name(module: str, bill: Any) -> str:
    """Return the Drive name of a bill's file: 2024-03-01_module_12.34EUR.pdf."""
    price = value(bill, "total_price")
    amount = f"_{abs(price):.2f}{value(bill, 'currency') or 'EUR'}" if price is not None else ""
    safe_id = "".join(c if c.isalnum() or c in "-_" else "-" for c in bill.id)[:40]
    extension = (value(bill, "format") or "pdf").lower()
    return f"{_day(value(bill, 'date')) or 'undated'}_{module}{amount}_{safe_id}.{extension}"
