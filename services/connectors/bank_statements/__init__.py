"""The bank-statements connector: statements downloaded from a bank, read from the Drive."""
from __future__ import annotations

import hashlib
import posixpath
from typing import Any

from appliance.jobs.connector import NOT_FOUND, Connector, ConnectorError, Context
from appliance.jobs.manifest import Dedup, Field, Manifest
from appliance.i18n import N_

ACCOUNTS = "io.hearth.bank.accounts"
OPERATIONS = "io.hearth.bank.operations"


class BankStatements(Connector):
    """Reads OFX, QFX, camt.053, QIF and CSV statements from a Drive file or folder."""

    manifest = Manifest(
        slug="bank-statements", name=N_("Bank statements"), vendor="Hearth", version="1.0",
        description=N_("Reads the statements you download from your bank (OFX, QFX, "
                       "camt.053, QIF, CSV) from a folder of the Drive."),
        categories=("banking",), data_types=("bank_accounts", "bank_operations"),
        fields=(
            Field("path", N_("Statement file or folder in the Drive"), type="drive_path",
                  required=True,
                  help=N_("For example /Bank. Put each account's CSV or QIF exports in a "
                          "folder of its own: the folder's name is the account's name.")),
            Field("currency", N_("Currency of CSV and QIF files"), default="EUR",
                  pattern=r"[A-Z]{3}"),
        ),
        doctypes={ACCOUNTS: Dedup(("vendor_ref",), update=True, newer="balance_date"),
                  OPERATIONS: Dedup(("account", "vendor_ref"))},
        frequency="daily", time_window=(1, 6), timeout=1800, memory_mb=1024)

    async def fetch(self, ctx: Context) -> None:
        """Read every statement the `path` field names and send its accounts and operations."""
        # Only a run reads statements: the daemon imports this package for its manifest.
        from services.connectors.bank_statements.formats import statements
        from services.connectors.bank_statements.model import References, StatementError  # likewise

        files = ctx.inputs("path")
        if not files:
            raise ConnectorError(NOT_FOUND, f"{ctx.fields['path']} holds no file: download "
                                            f"a statement from your bank into it")
        read = 0
        currency = ctx.fields.get("currency") or "EUR"
        for item in files:
            folder = posixpath.dirname(item.path)
            refs = References()  # repeats are counted within one file: see References
            with item.open() as fh:
                try:
                    for statement in statements(
                            fh, item.path, account_key=f"folder:{folder}",
                            account_label=posixpath.basename(folder) or "Compte",
                            currency=currency):
                        count = _send(ctx, statement, refs)
                        for why in statement.skipped:  # a bad line does not stop the file
                            ctx.logger.warning("%s", why)
                        ctx.logger.info("%s: %d operations of %s", item.path, count,
                                        statement.account.label)
                except StatementError as exc:
                    ctx.logger.warning("%s", exc)
                    continue
            read += 1
        if not read:
            raise ConnectorError(NOT_FOUND, f"none of the {len(files)} files in "
                                            f"{ctx.fields['path']} is a statement Hearth "
                                            f"can read (OFX, QFX, camt.053, QIF, CSV)")


def _send(ctx: Context, statement: Any, refs: Any) -> int:
    from services.connectors.bank_statements.model import masked  # only a run sends, as in fetch

    acct = statement.account
    vendor_ref = hashlib.sha256(acct.key.encode()).hexdigest()[:24]
    record: dict[str, Any] = {"label": acct.label, "institution": acct.institution,
                              "number": masked(acct.number), "type": acct.type,
                              "currency": acct.currency, "vendor_ref": vendor_ref}
    if acct.balance is not None:
        record.update(balance=float(acct.balance), balance_date=acct.balance_date)
    account_id = ctx.save(ACCOUNTS, record)
    count = 0
    for op in statement.operations:
        ctx.save(OPERATIONS, {
            "account": account_id, "date": op.date, "value_date": op.value_date,
            "amount": float(op.amount), "label": op.label, "raw_label": op.raw_label,
            "currency": op.currency or acct.currency, "type": op.type,
            "category": op.category or None, "vendor_ref": refs.of(acct.key, op),
            "bills": [], "reimbursements": []})
        count += 1
    return count


CONNECTOR = BankStatements
