"""The data disk, above the adapters: adopt, move with progress, pulled out, back, eject.

The disks and the helper are fakes here; tests/platform/ drives the real ones with
loop disks and udevd, and tests/test_datadisk_real.py the whole chain.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.datadisk.keeper import DataDisk
from appliance.datadisk.problems import EJECTED, MISSING, DataDiskError
from appliance.platform import Platform
from appliance.platform.disks import ADDED, REMOVED, Disk, FakeDisks
from appliance.platform.helper_client import HelperError
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.conftest import onboard, page_csrf


class FakeHelper:
    """Mounts are folders under a root; what the real helper does is tested for real."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[tuple[str, str]] = []
        self.damaged: set[str] = set()

    async def mount(self, uuid: str) -> Path:
        self.calls.append(("mount", uuid))
        (self.root / uuid).mkdir(parents=True, exist_ok=True)
        return self.root / uuid

    async def unmount(self, uuid: str) -> None:
        self.calls.append(("unmount", uuid))

    async def check(self, uuid: str) -> str:
        self.calls.append(("check", uuid))
        return "damaged: bad blocks" if uuid in self.damaged else "clean"

    async def format(self, device: str, label: str, expected_size: int) -> str:
        self.calls.append(("format", device))
        if expected_size != 64_000_000_000:
            raise HelperError(f"{device} is not {expected_size} bytes: nothing was erased")
        return "new-ext4-uuid"

    async def power_off(self, device: str) -> str:
        self.calls.append(("power_off", device))
        return "You can unplug the disk now."


USB = Disk(device="/dev/sdb1", parent="/dev/sdb", kind="partition", uuid="1111-2222",
           label="PHOTOS", fstype="exfat", size=64_000_000_000, vendor="SanDisk", model="Ultra",
           removable=True, usb=True)
FAT = Disk(device="/dev/sdc1", parent="/dev/sdc", kind="partition", uuid="3333",
           fstype="vfat", size=64_000_000_000, usb=True)


@pytest.fixture
async def box(settings: Settings, tmp_path: Path) -> TestClient:
    disks = FakeDisks([USB, FAT])
    helper = FakeHelper(tmp_path / "media")
    platform = Platform(notifier=NullNotifier(), disks=disks, helper=helper)  # type: ignore[arg-type]
    from appliance.app import create_app
    from aiohttp.test_utils import TestServer
    client = TestClient(TestServer(create_app(settings, platform=platform), host="127.0.0.1"))
    await client.start_server()
    await onboard(client)
    yield client
    await client.close()


async def _wait_move(client: TestClient) -> None:
    datadisk = client.app[keys.DATADISK]
    for _ in range(200):
        if datadisk.progress and datadisk.progress.phase in ("done", "failed"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the move never ended: {datadisk.progress}")


async def test_adopting_a_disk_moves_the_data_and_remembers_it(box: TestClient,
                                                               settings: Settings) -> None:
    core = box.app[keys.CORE]
    csrf = await page_csrf(box, "/settings/storage")
    made = await box.post("/data/io.hearth.test.notes/", json={"text": "keep me"},
                          headers={"X-CSRF-Token": csrf})
    note_id = (await made.json())["id"]
    (settings.data / "files" / "Documents").mkdir(parents=True)
    (settings.data / "files" / "Documents" / "bill.pdf").write_bytes(b"%PDF" * 5000)
    page = await (await box.get("/settings/storage")).text()
    assert "SanDisk Ultra, 64 GB, exFAT, label PHOTOS" in page and "In the box itself" in page
    resp = await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": "/dev/sdb1"})
    assert resp.status == 200
    await _wait_move(box)
    assert box.app[keys.DATADISK].progress.phase == "done"
    new_home = Path(box.app[keys.DATADISK]._helper.root) / "1111-2222" / "hearth"
    assert core.data_dir == new_home and core.available
    assert (new_home / "files" / "Documents" / "bill.pdf").read_bytes() == b"%PDF" * 5000
    got = await box.get(f"/data/io.hearth.test.notes/{note_id}")
    assert (await got.json())["text"] == "keep me"
    saved = json.loads((settings.system / "datadisk.json").read_text())
    assert saved["uuid"] == "1111-2222" and saved["fstype"] == "exfat"
    panel = await (await box.get("/settings/storage/panel")).text()
    assert "On the disk SanDisk Ultra" in panel and "Holds your data" in panel


async def test_an_unusable_filesystem_is_only_offered_for_erasing(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings/storage")
    resp = await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": "/dev/sdc1"})
    assert resp.status == 400 and "ext4, exFAT or NTFS" in await resp.text()
    confirm = await (await box.get("/settings/storage/erase?device=/dev/sdc1")).text()
    assert "Everything on USB disk sdc1 (64 GB, /dev/sdc1) will be lost" in confirm
    unticked = await box.post("/settings/storage/erase", data={
        "_csrf": csrf, "device": "/dev/sdc1", "expected_size": str(64_000_000_000)})
    assert unticked.status == 400 and "Tick the box" in await unticked.text()
    assert ("format", "/dev/sdc1") not in box.app[keys.DATADISK]._helper.calls


async def test_erasing_needs_the_size_the_owner_saw(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings/storage")
    await box.post("/settings/storage/erase", data={
        "_csrf": csrf, "device": "/dev/sdc1", "expected_size": "123", "confirm": "yes"})
    await _wait_move(box)
    progress = box.app[keys.DATADISK].progress
    assert progress.phase == "failed" and "nothing was erased" in progress.message
    await box.post("/settings/storage/erase", data={
        "_csrf": csrf, "device": "/dev/sdc1", "expected_size": str(64_000_000_000), "confirm": "yes"})
    await _wait_move(box)
    assert box.app[keys.DATADISK].choice.uuid == "new-ext4-uuid"


async def test_pulled_out_then_back(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings/storage")
    await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": "/dev/sdb1"})
    await _wait_move(box)
    disks: FakeDisks = box.app[keys.PLATFORM].disks  # type: ignore[assignment]
    core = box.app[keys.CORE]
    disks.emit(REMOVED, USB)
    for _ in range(100):
        if not core.available:
            break
        await asyncio.sleep(0.02)
    assert core.problem == MISSING
    page = await box.get("/", headers={"Accept": "text/html"})
    assert page.status == 503 and "not plugged in" in await page.text()
    write = await box.post("/data/io.hearth.test.notes/", json={"t": 1},
                           headers={"X-CSRF-Token": csrf})
    assert write.status == 503
    disks.emit(ADDED, USB)
    for _ in range(100):
        if core.available:
            break
        await asyncio.sleep(0.02)
    assert core.available
    calls = box.app[keys.DATADISK]._helper.calls
    assert calls[-3:] == [("unmount", "1111-2222"), ("check", "1111-2222"),
                          ("mount", "1111-2222")]  # checked before use
    notes = await (await box.get("/notifications")).text()
    assert "Your data disk is back" in notes


async def test_a_damaged_disk_is_not_used(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings/storage")
    await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": "/dev/sdb1"})
    await _wait_move(box)
    disks: FakeDisks = box.app[keys.PLATFORM].disks  # type: ignore[assignment]
    box.app[keys.DATADISK]._helper.damaged.add("1111-2222")
    disks.emit(REMOVED, USB)
    disks.emit(ADDED, USB)
    await asyncio.sleep(0.2)
    page = await box.get("/", headers={"Accept": "text/html"})
    assert page.status == 503 and "could not repair" in await page.text()


async def test_eject(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings/storage")
    no_disk = await box.post("/settings/storage/eject", data={"_csrf": csrf})
    assert no_disk.status == 400 and "no data disk" in await no_disk.text()
    await box.post("/settings/storage/adopt", data={"_csrf": csrf, "device": "/dev/sdb1"})
    await _wait_move(box)
    resp = await box.post("/settings/storage/eject", data={"_csrf": csrf})
    assert "You can unplug the disk now" in await resp.text()
    assert box.app[keys.CORE].problem == EJECTED
    assert ("power_off", "/dev/sdb1") in box.app[keys.DATADISK]._helper.calls


async def test_start_up_without_the_data_disk_says_so(settings: Settings, tmp_path: Path) -> None:
    settings.system.mkdir(parents=True)
    (settings.system / "datadisk.json").write_text(json.dumps({
        "uuid": "1111-2222", "fstype": "exfat", "label": "PHOTOS", "name": "SanDisk",
        "adopted_at": 0}))
    disks = FakeDisks([])
    platform = Platform(notifier=NullNotifier(), disks=disks,
                        helper=FakeHelper(tmp_path / "media"))  # type: ignore[arg-type]
    from appliance.app import create_app
    from aiohttp.test_utils import TestServer
    client = TestClient(TestServer(create_app(settings, platform=platform), host="127.0.0.1"))
    await client.start_server()
    try:
        page = await client.get("/", headers={"Accept": "text/html"})
        assert page.status == 503 and "not plugged in" in await page.text()
        disks.emit(ADDED, USB)
        for _ in range(100):
            if client.app[keys.CORE].available:
                break
            await asyncio.sleep(0.02)
        welcome = await client.get("/", headers={"Accept": "text/html"})
        assert welcome.status == 200 and welcome.url.path == "/welcome"
    finally:
        await client.close()


def test_missing_helper_is_explained(settings: Settings) -> None:
    datadisk = DataDisk(settings, FakeDisks([USB]), None)
    with pytest.raises(DataDiskError, match="no disk helper"):
        datadisk._need_helper()


async def test_disks_are_described_in_the_owner_language(box: TestClient) -> None:
    csrf = await page_csrf(box, "/settings")
    await box.post("/settings/box", data={"_csrf": csrf, "name": "maison", "language": "fr"})
    panel = await (await box.get("/settings/storage/panel")).text()
    assert "SanDisk Ultra, 64 Go, exFAT, nommé PHOTOS" in panel
    assert "Disque USB sdc1, 64 Go, FAT" in panel
