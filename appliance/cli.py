"""The `hearth` command."""
from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.settings import FIELDS, Settings, SettingsError, describe, env_name, load_settings

Command = Callable[[argparse.Namespace, Settings], int]


class CommandError(Exception):
    """A command could not do what was asked; the message says why and what to do."""


def _add_setting_flags(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    for name in names:
        spec = FIELDS[name]
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            metavar=spec.metadata["flag"] or None,
                            help=f"{spec.metadata['help']} [env: {env_name(name)}]")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="Settings file (default: $HEARTH_CONFIG, else "
                             "/etc/hearth/hearth.toml if present).")


def _settings(args: argparse.Namespace) -> Settings:
    flags = {name: getattr(args, name) for name in FIELDS if hasattr(args, name)}
    return load_settings(flags, config=args.config)


def _with_core(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    from appliance.core import open_core
    from appliance.services import discover
    from appliance.store import StoreLocked

    async def run() -> int:
        try:
            core = await open_core(settings, discover())
        except StoreLocked as exc:
            raise CommandError(
                f"{exc}\nA running Hearth holds {settings.data}: do this in its web "
                f"interface (Settings), or stop it first (sudo systemctl stop hearth).") from None
        try:
            return await work(core)
        finally:
            await core.close()
    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the daemon."""
    from appliance.daemon import serve
    from appliance.logs import setup_logging
    from appliance.store import StoreLocked

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


def _read_new_passphrase() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New passphrase: ")
        if first != getpass.getpass("Type it again: "):
            raise CommandError("the two passphrases differ; nothing was changed.")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def cmd_passphrase_set(args: argparse.Namespace, settings: Settings) -> int:
    """Set a new owner passphrase (read from stdin) and sign every browser out."""
    from appliance.owner import OwnerError
    passphrase = _read_new_passphrase()

    async def work(core: Any) -> int:
        try:
            await core.owner.set_passphrase(passphrase)
        except OwnerError as exc:
            raise CommandError(str(exc)) from None
        ended = await core.sessions.end_all()
        print(f"Passphrase changed; {ended} sessions signed out.")
        return 0
    return _with_core(settings, work)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a scoped bearer token for the data API and print it."""
    from appliance.auth.tokens import Scope, ScopeError

    async def work(core: Any) -> int:
        try:
            scopes = [Scope.parse(s, private=core.private_doctypes()) for s in args.scope]
            plaintext, token = await core.tokens.create(args.name, scopes)
        except ScopeError as exc:
            raise CommandError(str(exc)) from None
        print(f"Token {token.id} ({token.name}) for "
              f"{', '.join(str(s) for s in token.scopes)}; it is shown only once:",
              file=sys.stderr)
        print(plaintext)
        return 0
    return _with_core(settings, work)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the tokens (never their secret)."""
    async def work(core: Any) -> int:
        for token in core.tokens.list():
            print(json.dumps({"id": token.id, "name": token.name,
                              "scopes": [str(s) for s in token.scopes],
                              "created_at": token.created_at}))
        return 0
    return _with_core(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token by its id."""
    async def work(core: Any) -> int:
        if not await core.tokens.revoke(args.id):
            raise CommandError(f"there is no token {args.id!r} (see: hearth token list)")
        print(f"Token {args.id} revoked.")
        return 0
    return _with_core(settings, work)


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a device (phone, laptop, sync client) for WebDAV; print its app password last."""
    from appliance.auth.devices import DeviceError

    async def work(core: Any) -> int:
        try:
            password, device = await core.devices.add(args.name)
        except DeviceError as exc:
            raise CommandError(str(exc)) from None
        print(f"Device {device.name} added. Connect it to /dav/ with the user name "
              f"{device.name!r} and this app password, shown only once:", file=sys.stderr)
        print(password)
        return 0
    return _with_core(settings, work)


def cmd_device_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the devices that may reach the files over WebDAV."""
    async def work(core: Any) -> int:
        for device in core.devices.list():
            print(json.dumps({"id": device.id, "name": device.name,
                              "created_at": device.created_at}))
        return 0
    return _with_core(settings, work)


def cmd_device_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a device's app password, by its name or id."""
    async def work(core: Any) -> int:
        if not await core.devices.revoke(args.device):
            raise CommandError(f"there is no device {args.device!r} (see: hearth device list)")
        print(f"Device {args.device} revoked.")
        return 0
    return _with_core(settings, work)


def cmd_disks(args: argparse.Namespace, settings: Settings) -> int:
    """List the disks plugged in: size, filesystem, label, free space, USB or not."""
    # Loaded late: only this command needs pyudev.
    from appliance.platform.disks import UdevDisks
    from appliance.platform.disks.table import format_table
    disks = UdevDisks(include_loop=args.include_loop).list()
    print(format_table(disks) if disks else "No USB disk is plugged in.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every `hearth` command."""
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth, a personal cloud in a small box at home.")
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, fn: Command, parent: Any = sub,
                settings: Sequence[str] = ("data",)) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=fn.__doc__,
                                                       description=fn.__doc__)
        _add_setting_flags(p, settings)
        p.set_defaults(func=fn)
        return p

    command("serve", cmd_serve, settings=tuple(FIELDS))
    command("settings", cmd_settings, settings=tuple(FIELDS))
    dp = sub.add_parser("device", help="Manage devices that reach the files over WebDAV.")
    dsub = dp.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = command("add", cmd_device_add, dsub)
    add.add_argument("name", help="A name for the device, like Pixel-8 or Laptop-Marie.")
    command("list", cmd_device_list, dsub)
    drevoke = command("revoke", cmd_device_revoke, dsub)
    drevoke.add_argument("device", help="The device's name or id (see: hearth device list).")
    disks = command("disks", cmd_disks, settings=())
    disks.add_argument("--include-loop", action="store_true",
                       help="Also list loop devices (disk images, as the tests use).")
    pp = sub.add_parser("passphrase", help="Manage the owner's passphrase.")
    command("set", cmd_passphrase_set, pp.add_subparsers(dest="action", required=True))
    tp = sub.add_parser("token", help="Manage bearer tokens for the data API.")
    tsub = tp.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = command("create", cmd_token_create, tsub)
    create.add_argument("--scope", action="append", required=True, metavar="DOCTYPE[:VERBS]",
                        help="What the token may reach, e.g. io.hearth.bills:GET or "
                             "io.hearth.bank.* (repeat for several).")
    create.add_argument("--name", default="token", help="A name to recognise it by.")
    command("list", cmd_token_list, tsub)
    revoke = command("revoke", cmd_token_revoke, tsub)
    revoke.add_argument("id", help="The token's id (see: hearth token list).")
    from appliance.jobs.cli import register as register_connector
    register_connector(sub)
    from appliance.backup.cli import register as register_backup
    register_backup(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `hearth` command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, _settings(args)))
    except SettingsError as exc:
        print(f"hearth: invalid setting: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the module imported by its name: commands raise appliance.cli.CommandError,
    # which this copy (__main__) would not catch as its own.
    from appliance import cli as named
    sys.exit(named.main())
