"""The `hearth` command: help for every command, tokens and passphrase from the shell."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import build_parser
from appliance.core import open_core
from appliance.settings import load_settings

PASSPHRASE = "correct horse battery staple"
_SCRIPT = Path(sys.executable).parent / "hearth"
HEARTH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "appliance.cli"]


def hearth(*args: str, stdin: str = "", data: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `hearth` command the way a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    argv = [*HEARTH, *args]
    if data is not None:
        argv += ["--data", str(data)]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, env=env)


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


def _onboard(data: Path) -> None:
    async def run() -> None:
        core = await open_core(load_settings({"data": str(data)}, environ={}))
        await core.owner.onboard(passphrase=PASSPHRASE, name="maison", language="en")
        await core.close()
    asyncio.run(run())


def test_token_create_list_revoke(tmp_path: Path) -> None:
    _onboard(tmp_path)
    made = hearth("token", "create", "--scope", "io.hearth.bills:GET", "--scope",
                  "io.hearth.bank.*", "--name", "budget", data=tmp_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("hth_") and "shown only once" in made.stderr
    listed = [json.loads(line) for line in hearth("token", "list", data=tmp_path).stdout.split("\n")
              if line]
    assert listed[0]["name"] == "budget"
    assert listed[0]["scopes"] == ["io.hearth.bills:GET", "io.hearth.bank.*"]
    assert token not in (tmp_path / "store" / "io.hearth.tokens" / "journal.log").read_text()
    assert hearth("token", "revoke", listed[0]["id"], data=tmp_path).returncode == 0
    assert hearth("token", "list", data=tmp_path).stdout == ""
    gone = hearth("token", "revoke", listed[0]["id"], data=tmp_path)
    assert gone.returncode == 1 and "no token" in gone.stderr


@pytest.mark.parametrize("scope,words", [("io.hearth.sessions", "private"),
                                         ("nonsense", "not a doctype")])
def test_token_create_refuses_bad_scopes(tmp_path: Path, scope: str, words: str) -> None:
    result = hearth("token", "create", "--scope", scope, data=tmp_path)
    assert result.returncode == 1 and words in result.stderr


def test_passphrase_set_from_stdin(tmp_path: Path) -> None:
    _onboard(tmp_path)
    weak = hearth("passphrase", "set", stdin="short\n", data=tmp_path)
    assert weak.returncode == 1 and "too short" in weak.stderr
    ok = hearth("passphrase", "set", stdin="a whole new passphrase\n", data=tmp_path)
    assert ok.returncode == 0, ok.stderr

    async def check() -> tuple[bool, bool]:
        core = await open_core(load_settings({"data": str(tmp_path)}, environ={}))
        try:
            return (await core.owner.check_passphrase("a whole new passphrase"),
                    await core.owner.check_passphrase(PASSPHRASE))
        finally:
            await core.close()
    assert asyncio.run(check()) == (True, False)


def test_passphrase_set_before_onboarding_says_what_to_do(tmp_path: Path) -> None:
    result = hearth("passphrase", "set", stdin="a whole new passphrase\n", data=tmp_path)
    assert result.returncode == 1 and "open it in a browser first" in result.stderr


def test_device_add_list_revoke(tmp_path: Path) -> None:
    made = hearth("device", "add", "Pixel-8", data=tmp_path)
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip().splitlines()[-1]
    assert len(password) == 23 and "shown only once" in made.stderr
    again = hearth("device", "add", "Pixel-8", data=tmp_path)
    assert again.returncode == 1 and "already a device with this name" in again.stderr
    bad = hearth("device", "add", "../../etc", data=tmp_path)
    assert bad.returncode == 1 and "A device name has" in bad.stderr
    [listed] = [json.loads(line) for line in hearth("device", "list", data=tmp_path).stdout.split("\n") if line]
    assert listed["name"] == "Pixel-8"
    assert password not in (tmp_path / "store" / "io.hearth.devices" / "journal.log").read_bytes().decode(errors="replace")
    assert hearth("device", "revoke", "Pixel-8", data=tmp_path).returncode == 0
    assert hearth("device", "list", data=tmp_path).stdout == ""
