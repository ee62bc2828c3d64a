"""`hearth serve` and `hearth settings`: run the daemon, and show what it would run with."""
from __future__ import annotations

import argparse
import asyncio
import errno

from appliance.cli.common import CommandError, Subcommands, add_command
from appliance.logs import setup_logging
from appliance.settings import FIELDS, Settings, describe


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the daemon."""
    # Loaded when the daemon starts: aiohttp, the app and every service stay out of
    # `hearth --help` and of the other commands.
    from appliance.serving import serve
    from appliance.store import StoreLocked  # late, as above

    setup_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except StoreLocked as exc:
        raise CommandError(f"{exc}\nOnly one Hearth can serve a data folder.") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(f"port {settings.port} on {settings.host} is already in use: "
                               f"stop what uses it or pick another with --port.") from None
        raise
    return 0


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    """Print every setting: its value now, where to set it, and what it does."""
    for name, env, default, help_text in describe():
        value = getattr(settings, name)
        print(f"{name} = {'' if value is None else value}\n    {help_text}\n"
              f"    env {env}, flag --{name.replace('_', '-')}, default {default or '(none)'}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `serve` and `settings` to the `hearth` command."""
    add_command(commands, "serve", cmd_serve, settings=tuple(FIELDS))
    add_command(commands, "settings", cmd_settings, settings=tuple(FIELDS))
