"""`hearth passphrase set` and `hearth token …`: the owner's passphrase and tokens."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from appliance.core import open_core
from appliance.settings import load_settings
from tests.cli.shell import hearth

PASSPHRASE = "correct horse battery staple"


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
