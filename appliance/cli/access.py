"""`hearth passphrase set` and `hearth token create | list | revoke`: who may get in."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING

from appliance.cli.common import CommandError, Subcommands, add_command, with_core
from appliance.settings import Settings

if TYPE_CHECKING:
    from appliance.core import Core


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
    # Loaded when the command runs, like the core it works on.
    from appliance.owner import OwnerError
    passphrase = _read_new_passphrase()

    async def work(core: Core) -> int:
        try:
            await core.owner.set_passphrase(passphrase)
        except OwnerError as exc:
            raise CommandError(str(exc)) from None
        ended = await core.sessions.end_all()
        print(f"Passphrase changed; {ended} sessions signed out.")
        return 0
    return with_core(settings, work)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a scoped bearer token for the data API and print it."""
    # Loaded when the command runs, like the core it works on.
    from appliance.auth.tokens import Scope, ScopeError

    async def work(core: Core) -> int:
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
    return with_core(settings, work)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the tokens (never their secret)."""
    async def work(core: Core) -> int:
        for token in core.tokens.list():
            print(json.dumps({"id": token.id, "name": token.name,
                              "scopes": [str(s) for s in token.scopes],
                              "created_at": token.created_at}))
        return 0
    return with_core(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token by its id."""
    async def work(core: Core) -> int:
        if not await core.tokens.revoke(args.id):
            raise CommandError(f"there is no token {args.id!r} (see: hearth token list)")
        print(f"Token {args.id} revoked.")
        return 0
    return with_core(settings, work)


def register(commands: Subcommands) -> None:
    """Add `passphrase set` and `token create | list | revoke` to the `hearth` command."""
    passphrase = commands.add_parser("passphrase", help="Manage the owner's passphrase.")
    add_command(passphrase.add_subparsers(dest="action", required=True), "set",
                cmd_passphrase_set)
    token = commands.add_parser("token", help="Manage bearer tokens for the data API.")
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = add_command(actions, "create", cmd_token_create)
    create.add_argument("--scope", action="append", required=True, metavar="DOCTYPE[:VERBS]",
                        help="What the token may reach, e.g. io.hearth.bills:GET or "
                             "io.hearth.bank.* (repeat for several).")
    create.add_argument("--name", default="token", help="A name to recognise it by.")
    add_command(actions, "list", cmd_token_list)
    revoke = add_command(actions, "revoke", cmd_token_revoke)
    revoke.add_argument("id", help="The token's id (see: hearth token list).")
