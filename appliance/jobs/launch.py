"""Putting a run together: the account's inputs, its sink into the core, and the subprocess."""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.files import InvalidName, check_name
from appliance.jobs import outcome as codes
from appliance.jobs.connector import NOT_FOUND
from appliance.jobs.grants import GrantError, resolve
from appliance.jobs.manifest import FieldError, Manifest
from appliance.jobs.outcome import Outcome
from appliance.jobs.run import KEEP, Ask, Run, limits_for
from appliance.jobs.sandbox import WEB_PORTS, Confinement
from appliance.jobs.sink import Sink
from appliance.store import Collection

if TYPE_CHECKING:
    from appliance.core import Core

DRIVE_FOLDER = "/Connectors"


@dataclass
class Order:
    """What one run needs to know about its account."""

    manifest: Manifest
    account_id: str
    label: str
    fields: Mapping[str, str]  # the plain (not secret) values
    key: bytes  # the account's sealing key
    sealed: Mapping[str, str] = field(default_factory=dict)
    session: str | None = None
    ask: Ask | None = None


def drive_folder(label: str) -> str:
    """Return the Drive folder where an account's files go."""
    try:
        name = check_name(label.replace("/", "-"))
    except InvalidName:
        name = "Account"
    return f"{DRIVE_FOLDER}/{name}"


async def _opener(core: Core, doctype: str) -> Collection:
    found = core.collections.get(doctype)
    return found if found is not None else await core.store.collection(doctype)


async def execute(core: Core, order: Order, outcome: Outcome | None = None
                  ) -> tuple[Outcome, Any]:
    """Run the connector for an order; return the outcome and the session it left (or KEEP)."""
    out = outcome or Outcome()
    manifest = order.manifest
    try:
        manifest.check(order.fields, keep=frozenset(order.sealed))
        grants = await resolve(core.files, manifest, order.fields)
    except FieldError as exc:
        out.fail(codes.INVALID_FIELDS, f"the account's fields need a change: {exc}")
    except GrantError as exc:
        out.fail(NOT_FOUND, str(exc))
    if not out.running:
        out.ended_at = time.time()
        return out, KEEP

    async def collection(doctype: str) -> Collection:
        return await _opener(core, doctype)

    sink = Sink(manifest, order.account_id, collection=collection, doctypes=core.doctypes,
                tree=core.files, folder=drive_folder(order.label), log=out.add_log)
    start = {"account": order.account_id, "key": order.key.hex(), "fields": dict(order.fields),
             "sealed": dict(order.sealed), "session": order.session,
             "system": str(core.settings.system)}  # where box-wide tools (woob modules) live
    settings = core.settings
    confinement = Confinement(
        hidden=(settings.data, settings.system),
        shared=(settings.system / "woob",),  # the woob modules `woob-install` put there
        refused_ports=tuple(p for p in (settings.port, settings.https_port)
                            if p and p not in WEB_PORTS))
    run = Run(manifest, start, sink, grants=grants, ask=order.ask, outcome=out,
              limits=limits_for(manifest, settings), confinement=confinement)
    await run.execute()
    return out, run.session
