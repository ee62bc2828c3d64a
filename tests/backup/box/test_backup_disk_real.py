"""A real backup disk: a loop disk seen by udevd, mounted by the root helper; plug → backup."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from appliance.app import create_app
from appliance.keys import BACKUPS
from appliance.backup.box.where import instance_id
from appliance.platform import Platform
from appliance.platform.disks import UdevDisks
from appliance.platform.systemd import NullNotifier
from appliance.settings import Settings
from tests.backup.box.conftest import BASE, finished, post, set_up_with
from tests.conftest import onboard
from tests.platform.conftest import Helper, helper, loop_disks, udevd
from tests.platform.loopdisks import LoopDisks, mountpoints_of, sh
from tests.platform.test_datadisk_real import ext4_disk, until

__all__ = ["helper", "loop_disks", "udevd"]


@pytest.fixture(scope="session")
def loop_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This branch's own loop disk images (the only ones its helper may touch)."""
    return tmp_path_factory.mktemp("backup-box-loop-images")


@pytest.fixture
async def box(tmp_path: Path, helper: Helper) -> AsyncIterator[TestClient]:
    settings = Settings(data=tmp_path / "data", host="127.0.0.1", port=0)
    platform = Platform(notifier=NullNotifier(), disks=UdevDisks(include_loop=True),
                        helper=helper.client)
    client = TestClient(TestServer(create_app(settings, platform=platform), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def test_plugging_the_backup_disk_in_backs_up(loop_disks: LoopDisks, helper: Helper,
                                                    box: TestClient) -> None:
    await onboard(box)
    part, fs_uuid = ext4_disk(loop_disks, "BACKUPS")
    await until(lambda: any(d.uuid == fs_uuid for d in UdevDisks(include_loop=True).list()),
                "udev to list the disk")
    page = await (await box.get(BASE)).text()
    assert "label BACKUPS" in page
    await set_up_with(box, fs_uuid)  # mounted through the helper, repository made on it
    mount = helper.media / fs_uuid
    assert mountpoints_of(part) == [str(mount)]
    backups = box.app[BACKUPS]
    repo = mount / "hearth-backups" / instance_id(backups.core.data_dir)
    assert (repo / "config").is_file()
    assert backups.plan.last_success == 0

    # Unplugged, then plugged back in: udev says so, and a backup runs by itself.
    name = Path(part).name
    sh("udevadm", "trigger", "--settle", "--action=remove", f"/sys/class/block/{name}")
    sh("udevadm", "trigger", "--settle", "--action=add", f"/sys/class/block/{name}")
    await until(lambda: backups.busy() or backups.plan.last_success > 0, "the plug to start it")
    status = await finished(box)
    assert status["state"] == "done" and status["files_done"] > 0, status
    assert len(list((repo / "snapshots").iterdir())) == 1
    notes = await (await box.get("/notifications")).text()
    assert "Your backup is done" in notes
    await post(box, BASE, BASE + "check")
    assert "No damage found" in (await finished(box))["message"]
