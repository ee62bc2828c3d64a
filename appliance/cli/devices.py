"""`hearth device add | list | revoke`: the devices that reach the files over WebDAV."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from appliance.cli.common import CommandError, Subcommands, add_command, with_core
from appliance.settings import Settings

if TYPE_CHECKING:
    from appliance.core import Core


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a device (phone, laptop, sync client) for WebDAV; print its app password last."""
    # Loaded when the command runs, like the core it works on.
    from appliance.auth.devices import DeviceError

    async def work(core: Core) -> int:
        try:
            password, device = await core.devices.add(args.name)
        except DeviceError as exc:
            raise CommandError(str(exc)) from None
        print(f"Device {device.name} added. Connect it to /dav/ with the user name "
              f"{device.name!r} and this app password, shown only once:", file=sys.stderr)
        print(password)
        return 0
    return with_core(settings, work)


def cmd_device_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the devices that may reach the files over WebDAV."""
    async def work(core: Core) -> int:
        for device in core.devices.list():
            print(json.dumps({"id": device.id, "name": device.name,
                              "created_at": device.created_at}))
        return 0
    return with_core(settings, work)


def cmd_device_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a device's app password, by its name or id."""
    async def work(core: Core) -> int:
        if not await core.devices.revoke(args.device):
            raise CommandError(f"there is no device {args.device!r} (see: hearth device list)")
        print(f"Device {args.device} revoked.")
        return 0
    return with_core(settings, work)


def register(commands: Subcommands) -> None:
    """Add `device add | list | revoke` to the `hearth` command."""
    parser = commands.add_parser("device", help="Manage devices that reach the files over WebDAV.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = add_command(actions, "add", cmd_device_add)
    add.add_argument("name", help="A name for the device, like Pixel-8 or Laptop-Marie.")
    add_command(actions, "list", cmd_device_list)
    revoke = add_command(actions, "revoke", cmd_device_revoke)
    revoke.add_argument("device", help="The device's name or id (see: hearth device list).")
