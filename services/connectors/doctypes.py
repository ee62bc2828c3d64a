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

# Contacts and events from CardDAV/CalDAV: `collection` is the address book's or
# calendar's URL, `href` the resource's path there; `deleted` marks what the server
# no longer has (docs/connectors.md, Built-in: contacts and calendars).
_DAV = {
    "uid": FieldSpec("str"),
    "collection": FieldSpec("str", required=True, nullable=False),
    "href": FieldSpec("str", required=True, nullable=False),
    "etag": FieldSpec("str"),
    "raw": FieldSpec("str"),  # null when it is over 150 KiB (a big photo)
    "deleted": FieldSpec("bool"),
    "source": SOURCE,
}

CONTACTS = Doctype(
    "io.hearth.contacts",
    indexes=("full_name",),
    fields={
        **_DAV,
        "full_name": FieldSpec("str"),
        "names": FieldSpec("dict"),  # family, given, additional, prefix, suffix
        "emails": FieldSpec("list"),  # [{address, types}]
        "phones": FieldSpec("list"),  # [{number, types}]
        "addresses": FieldSpec("list"),  # [{street, city, postcode, region, country, …}]
        "organization": FieldSpec("str"),
        "birthday": FieldSpec("str"),  # YYYY-MM-DD, or --MM-DD without the year
    },
)

EVENTS = Doctype(
    "io.hearth.events",
    indexes=("start",),
    fields={
        **_DAV,
        "instance": FieldSpec("str", required=True, nullable=False),  # * or a RECURRENCE-ID
        "summary": FieldSpec("str"),
        "start": FieldSpec("str"),  # ISO 8601: a date when all_day, else with its UTC offset
        "end": FieldSpec("str"),
        "all_day": FieldSpec("bool"),
        "timezone": FieldSpec("str"),  # the TZID it was written in
        "location": FieldSpec("str"),
        "description": FieldSpec("str"),
        "rrule": FieldSpec("str"),  # the RRULE as written: FREQ=WEEKLY;BYDAY=MO
        "status": FieldSpec("str"),
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
        "label": FieldSpec("str"),
        "subscription": FieldSpec("str"),  # the contract or line it is for
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

DOCTYPES = (ACCOUNTS, RUNS, BANK_ACCOUNTS, BANK_OPERATIONS, CONTACTS, EVENTS, BILLS)
