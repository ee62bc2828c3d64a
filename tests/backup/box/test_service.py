"""The owner's side of backups, through the real app: set up, kit, back up, restore, prune."""
from __future__ import annotations

import os
import re
from pathlib import Path

from appliance.backup.box import backupplan
from appliance.backup.box.triggers import on_plug, tick
from appliance.backup.box.where import instance_id
from appliance.platform.disks import ADDED, REMOVED, FakeDisks
from tests.backup.box.conftest import BASE, Box, chunks, finished, post, set_up, start_box
from tests.conftest import PASSPHRASE, csrf_of, onboard
from tests.web.test_guard import concrete, walk

PHOTO = os.urandom(300_000)


async def signed_in(client: object) -> None:
    """Sign the owner in on a box that was set up before."""
    from aiohttp.test_utils import TestClient
    assert isinstance(client, TestClient)
    page = await (await client.get("/login")).text()
    resp = await client.post("/login", data={"_csrf": csrf_of(page), "passphrase": PASSPHRASE})
    assert resp.status == 200


async def _snapshots(box: Box) -> list[str]:
    return [s.id for s in await box.backups.snapshots()]


async def test_set_up_back_up_restore_and_prune(box: Box, tmp_path: Path) -> None:
    page = await (await box.client.get(BASE)).text()
    assert "SanDisk Ultra" in page and "Back up to this disk" in page
    key = await set_up(box)
    # The kit is shown once: after the owner kept it, neither page nor file gives the key.
    assert (await box.client.get(BASE + "kit", allow_redirects=False)).status == 303
    assert (await box.client.get(BASE + "kit.txt", allow_redirects=False)).status == 303
    repo = tmp_path / "backupdisk" / "hearth-backups" / instance_id(box.core.data_dir)
    assert (repo / "config").is_file()
    # The daemon keeps the key sealed on the system side; never plain, never on a data disk.
    saved = backupplan.load(box.settings.system)
    assert saved.sealed_key.startswith("v1.") and saved.kit_confirmed
    plain = key.replace("-", "").encode()
    for root in (box.settings.data, box.settings.system, tmp_path / "backupdisk"):
        for path in Path(root).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert plain not in data and key.encode() not in data, path

    await box.core.files.mkdir("/Photos")
    await box.core.files.write("/Photos/cat.jpg", chunks(PHOTO))
    resp = await post(box.client, BASE, BASE + "run")
    assert resp.status == 303
    status = await finished(box.client)
    assert status["state"] == "done" and status["percent"] == 100, status
    assert status["files_done"] == status["files_total"] > 0
    assert status["bytes_done"] >= len(PHOTO)
    notes = await (await box.client.get("/notifications")).text()
    assert "Your backup is done" in notes and "files (" in notes
    page = await (await box.client.get(BASE)).text()
    assert "Last backup:" in page and page.count('<time data-epoch=') >= 3
    [snapshot] = await _snapshots(box)

    # The photo is lost, then restored from the snapshot into a new Drive folder, twice.
    await box.core.files.delete("/Photos/cat.jpg")
    listing = await (await box.client.get(f"{BASE}snapshots/{snapshot}?path=Photos")).text()
    assert "cat.jpg" in listing and "Restore into the Drive" in listing
    for _ in range(2):
        resp = await post(box.client, f"{BASE}snapshots/{snapshot}?path=Photos",
                          f"{BASE}snapshots/{snapshot}/restore", path="Photos/cat.jpg")
        assert resp.status == 303
        status = await finished(box.client)
        assert status["state"] == "done" and status["message"].endswith("/cat.jpg"), status
    drive = [e.name for e in await box.core.files.list("/")]
    restored = sorted(n for n in drive if n.startswith("Restored "))
    assert len(restored) == 2 and restored[1] == restored[0] + " (2)"
    for folder in restored:
        entry = await box.core.files.stat(f"/{folder}/cat.jpg")
        assert entry.size == len(PHOTO)
        assert (await box.core.files.locate(f"/{folder}/cat.jpg")).read_bytes() == PHOTO

    # Keep one a day only: the next backups of today leave one snapshot.
    resp = await post(box.client, BASE, BASE + "retention", daily="1", weekly="0", monthly="0")
    assert resp.status == 303
    bad = await post(box.client, BASE, BASE + "retention", daily="-1", weekly="x", monthly="")
    assert bad.status == 400 and "whole numbers" in await bad.text()
    for _ in range(2):
        await post(box.client, BASE, BASE + "run")
        assert (await finished(box.client))["state"] == "done"
    assert len(await _snapshots(box)) == 1
    assert "Older backups removed as planned: 1." in (await finished(box.client))["message"]

    resp = await post(box.client, BASE, BASE + "check")
    assert resp.status == 303, await resp.text()
    status = await finished(box.client)
    assert status["state"] == "done" and "No damage found" in status["message"]


async def test_the_kit_needs_the_box_ticked_and_can_be_saved(box: Box) -> None:
    await post(box.client, BASE, BASE + "setup", uuid="B4CK-0001")
    kit = await (await box.client.get(BASE + "kit")).text()
    assert "Save as a file" in kit
    # The page prints cleanly: its stylesheet (no inline style, for the CSP) has print rules.
    sheet = re.search(r'href="(/static/backup\.css[^"]*)"', kit)
    assert sheet, "the kit page has no backup stylesheet"
    assert "@media print" in await (await box.client.get(sheet.group(1).replace("&amp;", "&"))).text()
    saved = await box.client.get(BASE + "kit.txt")
    assert saved.headers["Content-Disposition"].startswith("attachment")
    text = await saved.text()
    assert "Recovery key:" in text and "SanDisk" in text
    resp = await post(box.client, BASE + "kit", BASE + "kit")
    assert resp.status == 400 and "Tick the box" in await resp.text()
    # Until it is kept, nothing runs and the main page asks for it.
    assert "Keep your emergency kit" in await (await box.client.get(BASE)).text()


async def test_a_missing_disk_fails_with_a_notification_and_a_way_out(box: Box) -> None:
    await set_up(box)
    disk = box.disks.disks[0]
    box.disks.emit(REMOVED, disk)
    await post(box.client, BASE, BASE + "run")
    status = await finished(box.client)
    assert status["state"] == "failed" and "not plugged in" in status["message"]
    notes = await (await box.client.get("/notifications")).text()
    assert "Your backup failed" in notes and "Plug it in" in notes
    assert "earlier backups are intact" in notes


async def test_the_schedule_runs_once_after_the_box_was_off(box: Box) -> None:
    await set_up(box)
    backups = box.backups
    now = [backups.clock() + 86400 * 3]  # the box was off for three days
    backups.clock = lambda: now[0]
    assert backups.plan.next_run < now[0]
    assert tick(backups)
    assert (await finished(box.client))["state"] == "done"
    first = backups.plan.last["snapshot"]
    following = backups.plan.next_run
    assert now[0] < following <= now[0] + 2 * 86400
    assert not tick(backups)  # caught up once, not three times
    now[0] = following + 1
    assert tick(backups)
    assert (await finished(box.client))["state"] == "done"
    assert backups.plan.last["snapshot"] not in ("", first)
    # Both are of today: retention keeps the newest one.
    assert [s[:8] for s in await _snapshots(box)] == [backups.plan.last["snapshot"]]
    assert backupplan.load(box.settings.system).next_run > now[0]  # persisted


async def test_plugging_the_backup_disk_in_starts_a_backup(box: Box) -> None:
    await set_up(box)
    disk = box.disks.disks[0]
    box.disks.emit(REMOVED, disk)
    box.disks.emit(ADDED, disk)
    assert box.backups.busy()
    assert (await finished(box.client))["state"] == "done"
    assert len(await _snapshots(box)) == 1
    # Plugged in again right after a backup: no second one.
    assert not on_plug(box.backups, ADDED, disk)


async def test_every_backup_form_needs_the_csrf_token(box: Box) -> None:
    await set_up(box)
    posts = [p for m, p, _ in walk(box.client.app) if m == "POST" and p.startswith(BASE)]
    assert len(posts) >= 6
    for pattern in posts:
        resp = await box.client.post(concrete(pattern).replace("abc123", "0" * 32),
                                     data={"path": "x"}, allow_redirects=False)
        assert resp.status == 403, pattern
    assert not box.backups.busy()


async def test_stopping_the_daemon_interrupts_a_backup_and_the_next_one_completes(
        tmp_path: Path, disks: FakeDisks) -> None:
    first = await start_box(tmp_path / "box", disks)
    await onboard(first.client)
    await set_up(first)
    big = first.core.data_dir / "files" / "Films"
    big.mkdir()
    for n in range(3):
        (big / f"film-{n}.mkv").write_bytes(os.urandom(8 << 20))
    first.backups.start_backup("by hand")
    await first.client.close()  # the daemon stops (as systemd stops it) while it runs
    assert first.backups.status.state == "failed"
    assert "Stopped when the box stopped" in first.backups.status.message
    assert await _snapshots(first) == []  # the cut-short run left no snapshot

    again = await start_box(tmp_path / "box", disks)
    try:
        await signed_in(again.client)
        # The backup disk, plugged in at start, may begin the next backup by itself (no
        # backup has succeeded yet); else the owner starts it. Either way it completes.
        if not again.backups.busy():
            await post(again.client, BASE, BASE + "run")
        status = await finished(again.client)
        assert status["state"] == "done" and status["bytes_done"] >= 3 * (8 << 20)
        await post(again.client, BASE, BASE + "check")
        assert "No damage found" in (await finished(again.client))["message"]
    finally:
        await again.client.close()
