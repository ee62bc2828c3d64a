"""The imap-invoices connector: PDF invoices from a mail box, each with its bill record."""
from __future__ import annotations

from appliance.jobs.connector import Connector, Context
from appliance.jobs.manifest import Dedup, Field, Manifest
from appliance.i18n import N_

BILLS = "io.hearth.bills"
FINGERPRINT = r"([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{64}"


class ImapInvoices(Connector):
    """Reads a mailbox over IMAP and keeps the PDF invoices of the mails its rules pick."""

    manifest = Manifest(
        slug="imap-invoices", name=N_("Invoices by e-mail"), vendor="Hearth", version="1.0",
        description=N_("Keeps the PDF invoices your suppliers send by e-mail, in a folder "
                       "per supplier, with their date and amount."),
        categories=("mail", "bills"), data_types=("bills",),
        fields=(
            Field("host", N_("Mail server (IMAP)"), required=True,
                  pattern=r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]",
                  help=N_("For example imap.gmail.com or ssl0.ovh.net.")),
            Field("port", N_("Port"), type="number", pattern=r"\d{1,5}",
                  help=N_("Leave empty for the usual one: 993 with TLS, 143 otherwise.")),
            Field("security", N_("Security"), type="choice", default="tls",
                  choices=("tls", "starttls", "none"),
                  help=N_("tls (port 993) or starttls (port 143) encrypt the connection; "
                          "none sends your password in clear: only for a server at home.")),
            Field("login", N_("Login"), required=True),
            Field("password", N_("Password"), type="password", required=True,
                  help=N_("With Gmail or Outlook, an application password.")),
            Field("mailbox", N_("Mailbox"), default="INBOX",
                  help=N_("The folder to read, for example INBOX or Factures.")),
            Field("senders", N_("Senders"),
                  help=N_("Addresses or domains, separated by commas, for example edf.fr, "
                          "factures@free.fr. Leave empty for any sender.")),
            Field("subject_words", N_("Words in the subject"),
                  default="facture, invoice, receipt, reçu",
                  help=N_("A mail is kept if its subject holds one of these words "
                          "(separated by commas); * for any subject.")),
            Field("vendor", N_("Supplier name"),
                  help=N_("Leave empty to name it after the sender's domain (edf.fr: EDF).")),
            Field("since", N_("Look back (days)"), type="number", default="365",
                  pattern=r"\d{1,5}",
                  help=N_("How far back the first run reads; later runs read only new mail.")),
            Field("fingerprint", N_("Trusted certificate (SHA-256 fingerprint)"),
                  pattern=FINGERPRINT,
                  help=N_("Only for a server whose certificate no authority signs (your own "
                          "server): the fingerprint the error message shows, once you have "
                          "checked it on the server.")),
        ),
        doctypes={BILLS: Dedup(("vendor_ref",))},
        frequency="daily", time_window=(1, 6), timeout=1800, memory_mb=512)

    async def fetch(self, ctx: Context) -> None:
        """Read the new mail of the mailbox and send each matching mail's PDFs and bills."""
        # Only a run reads mail: the daemon imports this package for its manifest.
        from services.connectors.imap_invoices.reading import read_mailbox

        # An account saved before a field existed lacks it: the field's default applies.
        defaults = {f.name: f.default for f in self.manifest.fields}
        await read_mailbox(ctx, {**defaults, **ctx.fields})


CONNECTOR = ImapInvoices
