"""What every `hearth` command shares: its error, its setting flags, and the core it opens."""
from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from appliance.settings import FIELDS, Settings, env_name, load_settings

if TYPE_CHECKING:
    from appliance.core import Core
    from appliance.store import StoreLocked

Command = Callable[[argparse.Namespace, Settings], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A command could not do what was asked; the message says why and what to do."""


def add_setting_flags(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """Add a flag for each named setting, and --config, to a command's parser."""
    for name in names:
        spec = FIELDS[name]
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            metavar=spec.metadata["flag"] or None,
                            help=f"{spec.metadata['help']} [env: {env_name(name)}]")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="Settings file (default: $HEARTH_CONFIG, else "
                             "/etc/hearth/hearth.toml if present).")


def add_command(parent: Subcommands, name: str, run: Command,
                settings: Sequence[str] = ("data",)) -> argparse.ArgumentParser:
    """Add the command `name`, which `run` does and whose docstring is its help."""
    parser = parent.add_parser(name, help=run.__doc__, description=run.__doc__)
    add_setting_flags(parser, settings)
    parser.set_defaults(func=run)
    return parser


def settings_of(args: argparse.Namespace) -> Settings:
    """Return the settings: the command's flags over the environment over the file."""
    flags = {name: getattr(args, name) for name in FIELDS if hasattr(args, name)}
    return load_settings(flags, config=args.config)


def refusing(*kinds: type[Exception]) -> Callable[[Command], Command]:
    """Turn the errors of these kinds, whose messages are for the user, into CommandError."""
    def decorate(run: Command) -> Command:
        @functools.wraps(run)
        def refused(args: argparse.Namespace, settings: Settings) -> int:
            try:
                return run(args, settings)
            except kinds as exc:
                raise CommandError(str(exc)) from None
        return refused
    return decorate


def counted(n: int, word: str) -> str:
    """Return '1 file' or '3 files'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def held_elsewhere(exc: StoreLocked, data: Path, instead: str) -> str:
    """Say that a running Hearth holds the data folder: do `instead`, or stop it."""
    return (f"a running Hearth (pid {exc.params['pid']}) holds {data}: {instead}, "
            f"or stop it first (sudo systemctl stop hearth).")


def with_core(settings: Settings, work: Callable[[Core], Awaitable[int]]) -> int:
    """Open the core on the data folder, run work(core) and close it; return work's status."""
    # Loaded when a command opens the core: the store and every service stay out of
    # `hearth --help` and of the commands that don't need them.
    from appliance.core import open_core
    from appliance.services import discover  # late, as above
    from appliance.store import StoreLocked  # late, as above

    async def run() -> int:
        try:
            core = await open_core(settings, discover())
        except StoreLocked as exc:
            raise CommandError(held_elsewhere(
                exc, settings.data, "do this in its web interface (Settings)")) from None
        try:
            return await work(core)
        finally:
            await core.close()
    return asyncio.run(run())
