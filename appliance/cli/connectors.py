"""`hearth connector run | list | …`: connectors from a shell.

A connector package adds its own actions (the woob connector's `woob-install`)
through the `hearth.connector_commands` entry point group: each entry is a
`register(actions, setting_flags)` function.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from importlib.metadata import entry_points
from typing import Any

from appliance.cli.common import Subcommands, add_command, add_setting_flags, held_elsewhere
from appliance.settings import Settings

logger = logging.getLogger(__name__)
COMMANDS_GROUP = "hearth.connector_commands"


def _print(summary: dict[str, Any]) -> None:
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True), flush=True)


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"status": "failed", "error": code, "message": message, "saved": {},
            "updated": {}, "duplicates": 0, "rejected": 0, "files": 0}


def _fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--field {pair!r} needs the form NAME=VALUE")
        fields[name.strip()] = value
    return fields


async def _ask_terminal(question: dict[str, Any]) -> str:
    return await asyncio.to_thread(input, f"{question['prompt']} ")


async def _run(settings: Settings, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    # Loaded when a connector runs: the core, the services and the runtime stay out of
    # `hearth --help` and of the other commands.
    from appliance.core import open_core
    from appliance.jobs.launch import Order, execute  # late, as above
    from appliance.jobs.manifest import FieldError  # late, as above
    from appliance.jobs.registry import UnknownConnector, find  # late, as above
    from appliance.services import discover  # late, as above
    from appliance.store import StoreLocked  # late, as above

    try:
        entry = find(args.slug)
        fields = entry.manifest.check(_fields(args.field))
    except UnknownConnector as exc:
        return 2, _failure("UNKNOWN_CONNECTOR", str(exc))
    except (ValueError, FieldError) as exc:
        return 2, _failure("INVALID_FIELDS", str(exc))
    try:
        core = await open_core(settings, discover())
    except StoreLocked as exc:
        return 1, _failure("STORE_LOCKED", held_elsewhere(
            exc, settings.data, "add the account in its web interface"))
    try:
        order = Order(entry.manifest, f"cli-{entry.slug}", args.label or entry.manifest.name,
                      fields, os.urandom(32),
                      ask=_ask_terminal if sys.stdin.isatty() else None)
        outcome, _ = await execute(core, order)
    finally:
        await core.close()
    for line in outcome.log:
        print(f"{line['level']}: {line['message']}", file=sys.stderr)
    return (0 if outcome.status == "ok" else 1), outcome.summary()


def cmd_connector_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a connector once against a data folder; end with one JSON line of results."""
    status, summary = asyncio.run(_run(settings, args))
    _print(summary)
    return status


def cmd_connector_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the installed connectors, one JSON line each."""
    from appliance.jobs.registry import discover  # loaded when the command runs, like _run's
    for entry in discover().values():
        _print({**entry.manifest.describe(), "builtin": entry.builtin})
    return 0


def register(commands: Subcommands) -> None:
    """Add `connector run`, `list` and the connectors' own actions to the `hearth` command."""
    parser = commands.add_parser("connector", help="Run or list the connectors.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help=cmd_connector_run.__doc__,
                             description=cmd_connector_run.__doc__)
    run.add_argument("slug", help="The connector's slug (see: hearth connector list).")
    run.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                     help="A field of the account, e.g. path=/Bank (repeat for several).")
    run.add_argument("--label", default=None,
                     help="The account's name; its files go to /Connectors/LABEL in the Drive.")
    add_setting_flags(run, ("data",))
    run.set_defaults(func=cmd_connector_run)
    add_command(actions, "list", cmd_connector_list, settings=())
    for ep in entry_points(group=COMMANDS_GROUP):
        try:
            ep.load()(actions, add_setting_flags)
        except Exception:  # a broken connector's command must not take `hearth` down
            logger.exception("the command %s could not be added; it is left out", ep.name)
