"""`hearth connector woob-install`: a woob module fetched from a repository on loopback, then run."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from appliance.core import Core
from appliance.settings import Settings
from services.connectors.woob_installs import Installs
from tests.jobs.conftest import core, split_settings  # noqa: F401  (fixtures)
from tests.services.test_connectors_woob import ACCOUNTS, OPERATIONS, Bank, bank, run
from tests.services.woob_repository import woob_repository
from tests.cli.shell import HEARTH

__all__ = ["bank"]  # the fake bank's website, used here too


async def woob_install(settings: Settings, module: str, repository: str) -> tuple[int, str, str]:
    """Run `hearth connector woob-install` as the owner would; return its status and output."""
    proc = await asyncio.create_subprocess_exec(
        *HEARTH, "connector", "woob-install", module, "--data", str(settings.data),
        "--system-dir", str(settings.system), "--woob-repository", repository,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_an_installed_module_runs_as_a_connector(
        core: Core, split_settings: Settings, bank: tuple[Bank, str], tmp_path: Path) -> None:
    # Before: the module is nowhere, and the run says how to install it.
    out, _ = await run(core, bank[1])
    assert out.error == "NOT_FOUND" and "woob-install fakebank" in out.message
    with woob_repository(tmp_path / "repo") as (url, asked):
        status, said, err = await woob_install(split_settings, "fakebank", url)
        assert status == 0, err
        assert "/fakebank.tar.gz" in asked and "/modules.list" in asked
    assert "fakebank is installed" in said and "has been installed" in err
    installed = list(split_settings.system.rglob("woob_modules/fakebank/module.py"))
    assert installed, "the module is not on the system side"
    assert not list(split_settings.data.rglob("fakebank")), "a module landed on the data disk"

    out, _ = await run(core, bank[1])
    assert out.status == "ok", out.summary()
    assert out.saved[ACCOUNTS] == 2 and out.saved[OPERATIONS] == 5


async def test_an_unknown_module_or_no_network_is_said_plainly(
        split_settings: Settings, tmp_path: Path) -> None:
    with woob_repository(tmp_path / "repo") as (url, _):
        status, _, err = await woob_install(split_settings, "nosuchbank", url)
    assert status == 1 and "woob's repository has no module called 'nosuchbank'" in err
    # The same repository, gone: the box cannot reach it.
    status, _, err = await woob_install(split_settings, "fakebank", url)
    assert status == 1 and "could not reach the woob repository" in err
    assert "check its internet connection" in err
    status, _, err = await woob_install(split_settings, "../evil", url)
    assert status == 1 and "is not a woob module name" in err
    assert not list(split_settings.system.rglob("woob_modules/*/module.py"))


async def test_a_signed_repository_is_checked_and_a_tampered_module_refused(
        split_settings: Settings, tmp_path: Path) -> None:
    with woob_repository(tmp_path / "repo", signed=True) as (url, asked):
        status, _, err = await woob_install(split_settings, "fakebank", url)
        assert status == 0, err
        assert {"/trusted.gpg", "/trusted.gpg.sig", "/fakebank.tar.gz.sig"} <= set(asked)
        assert "Fingerprint of keyring" in err  # trusted the first time, and said so
        # Someone changes the archive on the way: its signature no longer matches.
        archive = tmp_path / "repo" / "fakebank.tar.gz"
        archive.write_bytes(archive.read_bytes() + b"tampered")
        other = Settings(data=tmp_path / "other", host="127.0.0.1", port=0)
        status, _, err = await woob_install(other, "fakebank", url)
    assert status == 1 and "Invalid signature for fakebank" in err
    assert not list(other.system.rglob("woob_modules/fakebank"))


async def test_an_install_from_the_page_that_hangs_is_stopped_at_its_time_limit(
        tmp_path: Path) -> None:
    # A repository that takes the connection and never answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        installs = Installs(time_limit=2)
        install = installs.start("fakebank", tmp_path / "system", url)
        assert installs.start("fakebank", tmp_path / "system", url) is install  # one at a time
        assert install.task is not None
        await install.task
    assert install.status == "failed"
    assert install.lines[-1] == "the install took more than 2 s and was stopped"
    assert installs.get("fakebank") is install
