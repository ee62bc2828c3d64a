"""`hearth disks`: the disks plugged in, as the box sees them."""
from __future__ import annotations

import argparse

from appliance.cli.common import Subcommands, add_command
from appliance.settings import Settings


def cmd_disks(args: argparse.Namespace, settings: Settings) -> int:
    """List the disks plugged in: size, filesystem, label, free space, USB or not."""
    # Loaded late: only this command needs pyudev.
    from appliance.platform.disks import UdevDisks
    from appliance.platform.disks.table import format_table  # late, as above
    disks = UdevDisks(include_loop=args.include_loop).list()
    print(format_table(disks) if disks else "No USB disk is plugged in.")
    return 0


def register(commands: Subcommands) -> None:
    """Add `disks` to the `hearth` command."""
    disks = add_command(commands, "disks", cmd_disks, settings=())
    disks.add_argument("--include-loop", action="store_true",
                       help="Also list loop devices (disk images, as the tests use).")
