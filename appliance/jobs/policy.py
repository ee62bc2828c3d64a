"""The scheduler's state machine: what a run's outcome does to its account.

States: `ok` (runs on schedule), `failing` (the last run failed; transient
errors are retried early with exponential backoff, others wait for the next
regular run), `needs_user` (the login failed or the vendor wants something from
the owner: no scheduled run until the account is edited or run by hand).
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.jobs import connector as codes
from appliance.jobs import outcome as platform
from appliance.jobs.manifest import Manifest
from appliance.jobs.schedule import CATCH_UP_SPREAD, MAX_RETRIES, backoff, next_run
from appliance.i18n import N_

OK, FAILING, NEEDS_USER = "ok", "failing", "needs_user"
TRANSIENT = frozenset({codes.VENDOR_DOWN, codes.NETWORK, platform.TIMEOUT,
                       platform.INTERRUPTED})
NEED_USER = frozenset({codes.LOGIN_FAILED, codes.USER_ACTION_NEEDED, codes.CHALLENGE_ASKED,
                       codes.NOT_FOUND, platform.INVALID_FIELDS})

# What the notification of an account that needs the owner says to do, by error code.
NEEDS_YOU = {
    codes.LOGIN_FAILED: N_("A connector's login was refused: open the account to check its "
                           "login and password"),
    codes.USER_ACTION_NEEDED: N_("A service wants something from you (new terms, a new "
                                 "password): sign in on its website, then run the account "
                                 "again"),
    codes.CHALLENGE_ASKED: N_("A service asks for a code: open the account and press "
                              "“Run now” to answer it"),
    codes.NOT_FOUND: N_("Something a connector account needs is missing: open the account "
                        "to see what"),
}
NEEDS_YOU_OTHER = N_("A connector account needs you: open it to see what to do")


def needs_you(error: str | None) -> str:
    """Return the msgid of the notification that tells the owner what to do about `error`."""
    return NEEDS_YOU.get((error or "").split(".", 1)[0], NEEDS_YOU_OTHER)


def kind_of(error: str | None) -> str:
    """Return how an error code is handled: none, transient, user or other."""
    if error is None:
        return "none"
    base = error.split(".", 1)[0]
    if base in NEED_USER:
        return "user"
    if base in TRANSIENT:
        return "transient"
    return "other"


@dataclass(frozen=True)
class Change:
    """The account fields to update after a run, and whether the owner must be told."""

    fields: dict[str, Any]
    notify: bool
    state_changed: bool


def regular(manifest: Manifest, account: Mapping[str, Any], now: float) -> float:
    """Return the account's next regular run after `now`."""
    return next_run(manifest.frequency, manifest.time_window, float(account.get("slot", 0.5)),
                    now)


def after_run(manifest: Manifest, account: Mapping[str, Any], error: str | None, now: float,
              rng: random.Random) -> Change:
    """Return what a run ending with `error` (None: success) changes in its account."""
    kind = kind_of(error)
    failures = int(account.get("failures", 0))
    upcoming = regular(manifest, account, now)
    if kind == "none":
        fields = {"state": OK, "failures": 0, "next_run": upcoming, "error": None}
    elif kind == "user":
        fields = {"state": NEEDS_USER, "failures": 0, "next_run": None, "error": error}
    elif kind == "transient" and failures < MAX_RETRIES:
        retry = now + backoff(failures + 1, rng)
        fields = {"state": FAILING, "failures": failures + 1, "next_run": min(retry, upcoming),
                  "error": error}
    else:
        fields = {"state": FAILING, "failures": failures + 1, "next_run": upcoming,
                  "error": error}
    changed = fields["state"] != account.get("state") or \
        (fields["state"] != OK and error != account.get("error"))
    return Change(fields, notify=kind == "user" and changed, state_changed=changed)


def is_due(account: Mapping[str, Any], now: float) -> bool:
    """Return whether a scheduled run of the account should start now."""
    when = account.get("next_run")
    return bool(account.get("enabled", True)) and account.get("state") != NEEDS_USER \
        and when is not None and float(when) <= now


def catch_up(account: Mapping[str, Any], now: float, rng: random.Random) -> float | None:
    """Return when a run missed while the box was off should happen (once), or None."""
    when = account.get("next_run")
    if when is None or float(when) > now or account.get("state") == NEEDS_USER:
        return None
    return now + rng.uniform(0, CATCH_UP_SPREAD)
