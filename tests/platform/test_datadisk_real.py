"""The data disk end to end, for real: udevd, loop disks, the root helper, the web UI."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import async_playwright, expect

from appliance import keys
from appliance.app import create_app
from appliance.datadisk.problems import MISSING
from appliance.platform import Platform
from appliance.platform.disks import UdevDisks
from appliance.platform.disks.watcher import THREAD_NAME
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.conftest import PASSPHRASE, onboard, page_csrf
from tests.platform.conftest import Helper
from tests.platform.loopdisks import LoopDisk, LoopDisks, mountpoints_of, sh

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


async def start_box(settings: Settings, helper: Helper) -> TestClient:
    platform = Platform(notifier=NullNotifier(), disks=UdevDisks(include_loop=True),
                        helper=helper.client)
    client = TestClient(TestServer(create_app(settings, platform=platform), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def box(settings: Settings, helper: Helper) -> AsyncIterator[TestClient]:
    client = await start_box(settings, helper)
    yield client
    await client.close()


async def until(check: object, what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def ext4_disk(loop_disks: LoopDisks, label: str) -> tuple[str, str]:
    disk = loop_disks.create("64M")
    [part] = disk.partition("")
    return part, disk.make_fs(part, "ext4", label)


async def test_adopt_restart_pull_out_and_back(loop_disks: LoopDisks, helper: Helper,
                                               box: TestClient, settings: Settings) -> None:
    await onboard(box)
    part, fs_uuid = ext4_disk(loop_disks, "HEARTHDATA")
    csrf = await page_csrf(box, "/settings/storage")
    made = await box.post("/data/io.hearth.test.notes/", json={"text": "keep me"},
                          headers={"X-CSRF-Token": csrf})
    note = (await made.json())["id"]
    (settings.data / "files" / "Photos").mkdir(parents=True)
    (settings.data / "files" / "Photos" / "cat.jpg").write_bytes(b"\xff\xd8" * 300_000)

    await until(lambda: any(d.uuid == fs_uuid for d in UdevDisks(include_loop=True).list()),
                "udev to list the disk")
    page = await (await box.get("/settings/storage")).text()
    assert "label HEARTHDATA" in page
    await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": part})
    datadisk, core = box.app[keys.DATADISK], box.app[keys.CORE]
    await until(lambda: datadisk.progress and datadisk.progress.phase in ("done", "failed"),
                "the move")
    assert datadisk.progress.phase == "done", datadisk.progress
    mount = helper.media / fs_uuid
    assert core.data_dir == mount / "hearth" and mountpoints_of(part) == [str(mount)]
    assert (mount / "hearth" / "files" / "Photos" / "cat.jpg").read_bytes() == \
        b"\xff\xd8" * 300_000
    assert json.loads((settings.system / "datadisk.json").read_text())["uuid"] == fs_uuid

    # A reboot: the choice is found again by UUID, the disk mounted at the same path.
    await box.close()
    again = await start_box(settings, helper)
    try:
        core = again.app[keys.CORE]
        assert core.data_dir == mount / "hearth" and core.available
        # One udev monitor thread serves the data disk and backups alike.
        assert [t.name for t in threading.enumerate()].count(THREAD_NAME) == 1
        await onboard_login(again)
        got = await again.get(f"/data/io.hearth.test.notes/{note}")
        assert (await got.json())["text"] == "keep me"

        # Pulled out: udev says the partition is gone.
        sh("udevadm", "trigger", "--settle", "--action=remove", f"/sys/class/block/{Path(part).name}")
        await until(lambda: core.problem == MISSING, "the box to notice")
        page = await again.get("/", headers={"Accept": "text/html"})
        assert page.status == 503 and "not plugged in" in await page.text()
        refused = await again.post("/data/io.hearth.test.notes/", json={"text": "lost?"},
                                   headers={"X-CSRF-Token": await csrf_any(again)})
        assert refused.status == 503

        # Plugged back in: checked (fsck), mounted, and the box carries on by itself.
        sh("udevadm", "trigger", "--settle", "--action=add", f"/sys/class/block/{Path(part).name}")
        await until(lambda: core.available, "the box to resume")
        got = await again.get(f"/data/io.hearth.test.notes/{note}")
        assert got.status == 200 and (await got.json())["text"] == "keep me"
        docs = await again.post("/data/io.hearth.test.notes/_find", json={"selector": {}},
                                headers={"X-CSRF-Token": await csrf_any(again)})
        assert [d["text"] for d in (await docs.json())["docs"]] == ["keep me"]
        log = helper.log.read_text()
        assert "check" in log
    finally:
        await again.close()


async def adopt_new_disk(box: TestClient, loop_disks: LoopDisks, helper: Helper, *,
                         size: str = "64M", fstype: str = "ext4", label: str = "FAMILY"
                         ) -> tuple[LoopDisk, str, str]:
    """Make a disk, adopt it through the storage page, wait for the move; return the
    disk, the page's CSRF token and the filesystem UUID."""
    disk = loop_disks.create(size)
    [part] = disk.partition("")
    fs_uuid = disk.make_fs(part, fstype, label)
    await until(lambda: any(d.uuid == fs_uuid for d in UdevDisks(include_loop=True).list()),
                "udev to list the disk")
    csrf = await page_csrf(box, "/settings/storage")
    await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": part})
    datadisk, core = box.app[keys.DATADISK], box.app[keys.CORE]
    await until(lambda: datadisk.progress and datadisk.progress.phase in ("done", "failed"),
                "the move")
    assert datadisk.progress.phase == "done", datadisk.progress
    assert core.data_dir == helper.media / fs_uuid / "hearth"
    return disk, csrf, fs_uuid


async def onboard_login(client: TestClient) -> None:
    csrf = await page_csrf(client, "/login")
    resp = await client.post("/login", data={"_csrf": csrf, "passphrase": PASSPHRASE})
    assert resp.status == 200


async def csrf_any(client: TestClient) -> str:
    """The CSRF token of the session, even while pages answer 503."""
    return client.app[keys.CORE].sessions.list()[0].csrf


async def test_storage_page_follows_plugs_live_and_shows_the_move(
        loop_disks: LoopDisks, helper: Helper, box: TestClient) -> None:
    # (loop_disks first: the box lets go of the disk before the disk is taken away)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(base_url=str(box.make_url("")))
            await page.goto("/welcome")
            await page.get_by_label("Choose a passphrase").fill(PASSPHRASE)
            await page.get_by_label("Type it again").fill(PASSPHRASE)
            await page.get_by_role("button", name="Set up my Hearth").click()
            await page.goto("/settings/storage")
            await expect(page.get_by_test_id("data-home")).to_contain_text("In the box itself")
            part, _ = ext4_disk(loop_disks, "PHOTOS")  # plugged in while the page is open
            disk_row = page.get_by_role("listitem").filter(has_text="label PHOTOS")
            await expect(disk_row).to_be_visible(timeout=10_000)
            await disk_row.get_by_role("button", name="Keep my data here").click()
            await expect(page.get_by_test_id("data-home")).to_contain_text(
                "On the disk", timeout=20_000)
            await expect(page.get_by_test_id("move")).to_contain_text("Your data is now on")
            await expect(disk_row).to_contain_text("Holds your data")
        finally:
            await browser.close()


@pytest.mark.parametrize("fstype", ["exfat", "ntfs"])
async def test_exfat_and_ntfs_disks_hold_the_data_too(
        loop_disks: LoopDisks, helper: Helper, box: TestClient, settings: Settings,
        fstype: str) -> None:
    await onboard(box)
    _, csrf, _ = await adopt_new_disk(box, loop_disks, helper, fstype=fstype)
    made = await box.post("/data/io.hearth.test.notes/", json={"text": fstype},
                          headers={"X-CSRF-Token": csrf})
    assert made.status == 201
    note = (await made.json())["id"]
    await box.close()
    again = await start_box(settings, helper)
    try:
        await onboard_login(again)
        got = await again.get(f"/data/io.hearth.test.notes/{note}")
        assert (await got.json())["text"] == fstype
    finally:
        await again.close()
