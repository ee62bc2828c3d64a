"""A box with a backup disk plugged in (FakeDisks over a real folder), and helpers."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, AsyncIterator as Chunks
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from appliance import keys
from appliance.app import create_app
from appliance.backup.box.backupbox import BackupBox
from appliance.keys import BACKUPS
from appliance.platform import Platform
from appliance.platform.disks import Disk, FakeDisks
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.conftest import csrf_of, onboard, page_csrf

KEY = re.compile(r"([0-9A-Z]{4}(?:-[0-9A-Z]{4}){8})")
BASE = "/apps/backup/"


@dataclass
class Box:
    """A running box, its owner's browser, its settings and the fake disk list."""

    client: TestClient
    settings: Settings
    disks: FakeDisks

    @property
    def backups(self) -> BackupBox:
        return self.client.app[BACKUPS]

    @property
    def core(self) -> Any:
        return self.client.app[keys.CORE]


def backup_disk(mount: Path) -> Disk:
    """Return a USB backup disk already mounted at `mount`."""
    mount.mkdir(parents=True, exist_ok=True)
    return Disk(device="/dev/sdz1", parent="/dev/sdz", kind="partition", uuid="B4CK-0001",
                label="BACKUPS", fstype="ext4", size=64 << 30, vendor="SanDisk",
                model="Ultra", usb=True, removable=True, mountpoint=str(mount))


def box_settings(root: Path, *, embedded: bool = False) -> Settings:
    """Settings with the data folder (USB disk) apart from the system folder (SD card).

    With `embedded`, the developer's default: one data folder holding system/.
    """
    if embedded:
        return Settings(data=root / "data", host="127.0.0.1", port=0)
    return Settings(data=root / "usb" / "hearth", system_dir=root / "sd" / "hearth",
                    host="127.0.0.1", port=0)


async def start_box(root: Path, disks: FakeDisks, *, embedded: bool = False) -> Box:
    """Start the real app with a fake disk list; nobody is signed in yet."""
    settings = box_settings(root, embedded=embedded)
    app = create_app(settings, platform=Platform(notifier=NullNotifier(), disks=disks))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return Box(client, settings, disks)


@pytest.fixture
def disks(tmp_path: Path) -> FakeDisks:
    return FakeDisks([backup_disk(tmp_path / "backupdisk")])


@pytest.fixture
async def box(tmp_path: Path, disks: FakeDisks) -> AsyncIterator[Box]:
    """A box set up by its owner, signed in, with a backup disk plugged in."""
    started = await start_box(tmp_path / "box", disks)
    await onboard(started.client)
    yield started
    await started.client.close()


async def post(client: TestClient, page: str, action: str, **data: str) -> Any:
    """Submit a form of `page` as the owner would (with the page's CSRF token)."""
    csrf = await page_csrf(client, page)
    return await client.post(action, data={"_csrf": csrf, **data}, allow_redirects=False)


async def set_up(box: Box) -> str:
    """Choose the fake backup disk, read the emergency kit, confirm it; return the key."""
    return await set_up_with(box.client, "B4CK-0001")


async def set_up_with(client: TestClient, uuid: str) -> str:
    """Choose a backup disk, read the emergency kit, confirm it; return the key."""
    resp = await post(client, BASE, BASE + "setup", uuid=uuid)
    assert resp.status == 303 and resp.headers["Location"] == BASE + "kit", await resp.text()
    kit = await (await client.get(BASE + "kit")).text()
    found = KEY.search(kit)
    assert found, kit
    resp = await client.post(BASE + "kit", data={"_csrf": csrf_of(kit), "kept": "yes"},
                             allow_redirects=False)
    assert resp.status == 303
    return found.group(1)


async def finished(client: TestClient, url: str = BASE + "status") -> dict[str, Any]:
    """Poll the status endpoint, as the progress bar does, until the operation ends."""
    seen = []
    for _ in range(1200):
        status = await (await client.get(url)).json()
        seen.append(status["percent"])
        if status["state"] in ("done", "failed"):
            status["seen"] = seen
            return dict(status)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the operation never ended: {seen[-5:]}")


async def chunks(data: bytes) -> Chunks[bytes]:
    yield data
