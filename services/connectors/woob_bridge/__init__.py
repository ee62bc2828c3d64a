"""The woob connector: any woob module installed on the box (a bank, a biller) as a connector."""
from __future__ import annotations

from appliance.jobs.connector import Connector, Context
from appliance.jobs.manifest import Dedup, Field, Manifest
from appliance.i18n import N_
from services.connectors.bank_statements import BankStatements

BILLS = "io.hearth.bills"


class WoobConnector(Connector):
    """Runs a woob module (CapBank, CapDocument) and keeps its accounts, operations and bills."""

    manifest = Manifest(
        slug="woob", name=N_("Bank or biller through woob"), vendor="woob", version="1.0",
        description=N_("Uses a woob module installed on the box to bring home your bank "
                       "accounts, their operations and your bills."),
        categories=("banking", "bills"),
        data_types=("bank_accounts", "bank_operations", "bills"),
        fields=(
            Field("module", N_("woob module"), required=True, pattern=r"[a-z0-9_]{1,40}",
                  help=N_("Its name in woob, for example bnporc, ameli or freemobile.")),
            Field("login", N_("Login"), required=True),
            Field("password", N_("Password"), type="password", required=True),
            Field("website", N_("Website or option"),
                  help=N_("Only for modules that ask which website or region to use.")),
        ),
        # Accounts and operations have bank statements' shapes and rules (balance kept newest).
        doctypes={**BankStatements.manifest.doctypes, BILLS: Dedup(("vendor", "vendor_ref"))},
        frequency="daily", time_window=(1, 6), timeout=1800, memory_mb=512, interactive=True)

    async def fetch(self, ctx: Context) -> None:
        """Run the module named in the account's fields."""
        # Only a run loads woob: the daemon imports this package for its manifest.
        from services.connectors.woob_bridge.bridge import Bridge

        await Bridge(ctx).run()


CONNECTOR = WoobConnector
