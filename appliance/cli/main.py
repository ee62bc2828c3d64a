"""The `hearth` command: its parser, made of each feature's commands, and `main`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from appliance import __version__
from appliance.cli import access, backup, connectors, devices, disks, export, serve
from appliance.cli.common import CommandError, settings_of
from appliance.settings import SettingsError

# Each module registers its commands; `hearth --help` lists them in this order.
FEATURES = (serve, devices, disks, access, connectors, backup, export)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every `hearth` command."""
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth, a personal cloud in a small box at home.")
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for feature in FEATURES:
        feature.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `hearth` command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, settings_of(args)))
    except SettingsError as exc:
        print(f"hearth: invalid setting: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
