"""`hearth connector woob-install`: the woob connector's command, found by its entry point."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from appliance.settings import Settings

SettingFlags = Callable[[argparse.ArgumentParser, Sequence[str]], None]


def cmd_woob_install(args: argparse.Namespace, settings: Settings) -> int:
    """Install a woob module on the box from woob's repository, for the woob connector."""
    # Loaded when the command runs only: every `hearth` command builds this parser.
    from services.connectors.woob_bridge.install import InstallError, install, woob_home

    try:
        install(args.module, woob_home(settings.system), settings.woob_repository,
                say=lambda line: print(line, file=sys.stderr, flush=True))
    except InstallError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 1
    print(f"{args.module} is installed in {woob_home(settings.system)}; "
          f"accounts of the woob connector can use it now.")
    return 0


def register(actions: Any, setting_flags: SettingFlags) -> None:
    """Add `woob-install` to the `hearth connector` sub-parsers."""
    woob = actions.add_parser("woob-install", help=cmd_woob_install.__doc__,
                              description=cmd_woob_install.__doc__)
    woob.add_argument("module", help="The module's name in woob, e.g. bnporc or ameli.")
    setting_flags(woob, ("data", "system_dir", "woob_repository"))
    woob.set_defaults(func=cmd_woob_install)
