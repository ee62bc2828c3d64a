"""The `hearth` command: help for every command, and settings refused by name."""
from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.main import build_parser
from tests.cli.shell import hearth


def _commands(parser: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in getattr(parser, "_actions"):
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                found.append(prefix + (name,))
                found += _commands(sub, prefix + (name,))
    return found


def test_every_command_has_help() -> None:
    commands = _commands(build_parser())
    assert ("serve",) in commands and ("token", "create") in commands
    assert ("backup", "prune") in commands and ("connector", "woob-install") in commands
    for command in commands:
        result = hearth(*command, "--help")
        assert result.returncode == 0, command
        assert "usage: hearth " + " ".join(command) in result.stdout
    top = hearth("--help")
    for name in ("serve", "settings", "passphrase", "token"):
        assert name in top.stdout


def test_serve_help_documents_each_setting() -> None:
    out = hearth("serve", "--help").stdout
    for flag, env in (("--data", "HEARTH_DATA"), ("--port", "HEARTH_PORT"),
                      ("--host", "HEARTH_HOST")):
        assert flag in out and env in out


def test_invalid_setting_stops_with_its_name(tmp_path: Path) -> None:
    result = hearth("serve", "--port", "eighty", data=tmp_path)
    assert result.returncode == 2
    assert "setting 'port' (from --port): 'eighty' is not a whole number" in result.stderr


def test_every_option_has_help() -> None:
    todo = [build_parser()]
    while todo:
        current = todo.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions), current.prog
                todo += action.choices.values()
            else:
                assert action.help, f"{current.prog} {action.option_strings or action.dest}"
