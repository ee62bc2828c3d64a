"""What run errors and account states mean, in plain words for the owner."""
from __future__ import annotations

from appliance.i18n import N_

STATES = {
    "ok": N_("Up to date"),
    "failing": N_("Failing"),
    "needs_user": N_("Needs you"),
    "running": N_("Running"),
    "waiting": N_("Waiting for its turn"),
}
RUN_STATES = {
    "ok": N_("Done"),
    "failed": N_("Failed"),
    "running": N_("Running"),
    "waiting": N_("Waiting for its turn"),
}

ERRORS = {
    "LOGIN_FAILED": N_("The service refused the login or the password. Check them in this "
                       "account's settings, then press “Run now”."),
    "USER_ACTION_NEEDED": N_("The service wants something from you (new terms to accept, a "
                             "password to renew…). Sign in on its website, then run the "
                             "account again."),
    "VENDOR_DOWN": N_("The service's website is not answering. Hearth will try again later."),
    "NETWORK": N_("The box could not reach the service. Hearth will try again later."),
    "CHALLENGE_ASKED": N_("The service asks for a code. Press “Run now” on this page to "
                          "answer it."),
    "NOT_FOUND": N_("What this account points to could not be found. Check its settings, "
                    "then press “Run now”."),
    "INVALID_FIELDS": N_("The account's settings need a change."),
    "TIMEOUT": N_("The run took too long and was stopped. Hearth will try again later."),
    "MEMORY_LIMIT": N_("The run needed more memory than it may use and was stopped."),
    "CPU_LIMIT": N_("The run needed more processor time than it may use and was stopped."),
    "INVALID_RECORD": N_("Some of what the connector sent was not valid and was left out."),
    "INTERRUPTED": N_("The run was interrupted. Hearth will try again later."),
    "STORE_ERROR": N_("What the run brought could not be saved. See the details below."),
}
# What a run brings, by doctype, in the owner's words (others are shown by their doctype).
KINDS = {
    "io.hearth.bank.accounts": N_("Bank accounts"),
    "io.hearth.bank.operations": N_("Bank operations"),
    "io.hearth.bills": N_("Bills"),
    "io.hearth.contacts": N_("Contacts"),
    "io.hearth.events": N_("Calendar events"),
    "io.hearth.files": N_("Files"),
}
CONNECTOR_FAILED = N_("The connector failed. The details below may help its author.")


def explain(code: str | None) -> str | None:
    """Return the msgid that explains an error code to the owner (None for no error)."""
    if code is None:
        return None
    return ERRORS.get(code.split(".", 1)[0], CONNECTOR_FAILED)
