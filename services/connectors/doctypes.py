"""The doctypes the connectors service owns: accounts, runs, and what built-ins bring home."""
from __future__ import annotations

from appliance.doctypes import Doctype, FieldSpec
from appliance.jobs.accounts import DOCTYPE as ACCOUNTS_DOCTYPE
from appliance.jobs.accounts import RUNS_DOCTYPE

SOURCE = FieldSpec("dict")  # {"connector": slug, "account": account id}, set by the platform

ACCOUNTS = Doctype(ACCOUNTS_DOCTYPE, indexes=("connector", "label"), private=True)
RUNS = Doctype(RUNS_DOCTYPE, indexes=("account", "status"), api_writable=False)

BANK_ACCOUNTS = Doctype(
    "io.hearth.bank.accounts",
    indexes=("vendor_ref",),
    fields={
        "label": FieldSpec("str", required=True, nullable=False),
        "institution": FieldSpec("str"),
        "number": FieldSpec("str"),  # masked: •••• 1234
        "type": FieldSpec("str"),  # checking, savings, credit_card…
        "currency": FieldSpec("str"),
        "balance": FieldSpec("number"),
        "balance_date": FieldSpec("str"),  # YYYY-MM-DD
        "vendor_ref": FieldSpec("str", required=True, nullable=False),
        "source": SOURCE,
    },
)

BANK_OPERATIONS = Doctype(
    "io.hearth.bank.operations",
    indexes=("account", "date"),
    fields={
        "account": FieldSpec("str", required=True, nullable=False),
        "date": FieldSpec("str", required=True, nullable=False),  # YYYY-MM-DD
        "value_date": FieldSpec("str"),
        "amount": FieldSpec("number", required=True, nullable=False),  # debit < 0
        "label": FieldSpec("str", required=True),
        "raw_label": FieldSpec("str"),
        "currency": FieldSpec("str"),
        "category": FieldSpec("str"),
        "type": FieldSpec("str"),
        "vendor_ref": FieldSpec("str", required=True, nullable=False),
        "bills": FieldSpec("list"),
        "reimbursements": FieldSpec("list"),
        # No `source` here: their bank account has it, and 100k of them would each carry it.
    },
)

BILLS = Doctype(
    "io.hearth.bills",
    indexes=("vendor", "date"),
    fields={
        "vendor": FieldSpec("str", required=True, nullable=False),
        "date": FieldSpec("str"),  # YYYY-MM-DD
        "amount": FieldSpec("number"),  # > 0; None when the invoice does not say it plainly
        "currency": FieldSpec("str"),
        "type": FieldSpec("str"),  # e.g. health_costs
        "is_refund": FieldSpec("bool"),
        "original_amount": FieldSpec("number"),
        "original_date": FieldSpec("str"),
        "group_amount": FieldSpec("number"),
        "is_third_party_payer": FieldSpec("bool"),
        "file": FieldSpec("str"),  # the io.hearth.files id of the invoice
        "operation": FieldSpec("str"),  # the io.hearth.bank.operations it was paid by
        "vendor_ref": FieldSpec("str"),  # the vendor's own reference (a Message-ID…)
        "source": SOURCE,
    },
)

DOCTYPES = (ACCOUNTS, RUNS, BANK_ACCOUNTS, BANK_OPERATIONS, BILLS)
