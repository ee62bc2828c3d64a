"""A move my Hearth that fails leaves the fresh box as it was, says why, and can be retried."""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.backup.box.where import instance_id
from appliance.backup.engine import recovery
from appliance.backup.engine.pack import DATA, read_directory
from appliance.backup.engine.repository import Repository
from appliance.platform.disks import FakeDisks
from tests.backup.box.conftest import BASE, Box, chunks, finished, post, set_up, start_box
from tests.backup.box.test_check_and_words import damage_the_biggest_pack
from tests.conftest import PASSPHRASE, csrf_of, onboard

MOVE = "/welcome/restore"
SCANS = {f"/Scans/scan-{n:02d}.pdf": os.urandom(1 << 20) for n in range(40)}


async def old_box(root: Path, disks: FakeDisks) -> tuple[str, Path]:
    """Set up a box with 40 MB of scans and a bookmark, back it up; return key and repo."""
    old = await start_box(root, disks)
    try:
        await onboard(old.client, name="ancienne")
        key = await set_up(old)
        await old.core.files.mkdir("/Scans")
        for path, data in SCANS.items():
            await old.core.files.write(path, chunks(data))
        await old.core.collections["io.hearth.bookmarks"].create({"title": "Exemple"})
        await post(old.client, BASE, BASE + "run")
        assert (await finished(old.client))["state"] == "done"
        return key, root.parent / "backupdisk" / "hearth-backups" / instance_id(
            old.core.data_dir)
    finally:
        await old.client.close()


@pytest.fixture
async def new(tmp_path: Path, disks: FakeDisks) -> AsyncIterator[Box]:
    box = await start_box(tmp_path / "new", disks)
    yield box
    await box.client.close()


async def move(box: Box, key: str) -> int:
    page = await (await box.client.get(MOVE)).text()
    resp = await box.client.post(MOVE, data={"_csrf": csrf_of(page), "uuid": "B4CK-0001",
                                             "key": key}, allow_redirects=False)
    return resp.status


def still_fresh(box: Box) -> None:
    """Assert nothing of the old box landed here, and nothing half-restored is left over."""
    data = box.core.data_dir
    assert not box.core.owner.onboarded
    assert list((data / "files").iterdir()) == []
    assert not list(data.glob("tmp/move-*")) and not list(box.settings.system.parent.glob(
        ".hearth-move-*"))
    assert not (box.settings.system / "backup.json").exists()


async def failed_then_page(box: Box) -> tuple[dict[str, object], str]:
    status = await finished(box.client, MOVE + "/status")
    assert status["state"] == "failed", status
    page = await (await box.client.get(MOVE)).text()
    assert 'data-testid="move-failed"' in page and 'name="key"' in page  # try again…
    assert 'href="/welcome"' in page  # …or start fresh
    return status, page


async def signs_in_as_the_old_box(box: Box) -> None:
    status = await finished(box.client, MOVE + "/status")
    assert status["state"] == "done", status
    login = await (await box.client.get("/login")).text()
    resp = await box.client.post("/login", data={"_csrf": csrf_of(login),
                                                 "passphrase": PASSPHRASE})
    assert resp.status == 200 and box.core.owner.name == "ancienne"
    for path, data in list(SCANS.items())[::13]:
        assert (await box.core.files.locate(path)).read_bytes() == data


async def test_a_key_of_another_backup_is_refused_in_the_owners_language(
        tmp_path: Path, disks: FakeDisks, new: Box) -> None:
    await old_box(tmp_path / "old", disks)
    other = recovery.display(recovery.generate())  # well formed, but not this backup's
    assert await move(new, other) == 400
    page = await (await new.client.get(MOVE, headers={"Accept-Language": "fr"})).text()
    resp = await new.client.post(MOVE, data={"_csrf": csrf_of(page), "uuid": "B4CK-0001",
                                             "key": other}, headers={"Accept-Language": "fr"})
    said = await resp.text()
    assert resp.status == 400 and "n’ouvre pas les sauvegardes de ce disque" in said
    assert "repository" not in said
    still_fresh(new)


async def test_the_disk_pulled_out_mid_move_leaves_the_box_fresh_then_it_works(
        tmp_path: Path, disks: FakeDisks, new: Box) -> None:
    key, _repo = await old_box(tmp_path / "old", disks)
    mount = tmp_path / "backupdisk"
    assert await move(new, key) == 303
    for _ in range(20000):  # pull the disk out as soon as the first scan came back
        if new.backups.status.files_done or not new.backups.status.running:
            break
        await asyncio.sleep(0.001)
    os.rename(mount, tmp_path / "unplugged")
    status, page = await failed_then_page(new)
    assert "went away" in str(status["message"]) and "went away" in page
    still_fresh(new)

    os.rename(tmp_path / "unplugged", mount)  # plugged back in: the same steps now work
    # What an earlier move cut by a power cut (another pid) left aside goes too.
    crashed = new.core.data_dir / "tmp" / "move-1" / "files"
    crashed.mkdir(parents=True)
    (crashed / "half.pdf").write_bytes(b"%PDF-")
    assert await move(new, key) == 303
    await signs_in_as_the_old_box(new)
    assert not list(new.core.data_dir.glob("tmp/move-*"))


async def test_a_damaged_backup_leaves_the_box_fresh_and_can_be_left_for_a_new_start(
        tmp_path: Path, disks: FakeDisks, new: Box) -> None:
    key, repo = await old_box(tmp_path / "old", disks)
    damage_the_biggest_pack(repo)
    assert await move(new, key) == 303
    status, page = await failed_then_page(new)
    assert "damaged on the backup disk" in str(status["message"])
    still_fresh(new)
    # Start fresh instead: the ordinary set-up works on this box.
    await onboard(new.client, name="nouvelle")
    assert new.core.owner.name == "nouvelle"


async def test_a_failure_restoring_the_documents_last_leaves_no_half_moved_box(
        tmp_path: Path, disks: FakeDisks, new: Box) -> None:
    key, repo = await old_box(tmp_path / "old", disks)
    before = {p.name for p in (repo / "packs").glob("*/*")}
    # A second backup of the old box with only a new document: its new data pack holds
    # store pieces only, so the Drive restores fine and the store, restored last, fails.
    old = await start_box(tmp_path / "old", disks)
    try:
        login = await (await old.client.get("/login")).text()
        await old.client.post("/login", data={"_csrf": csrf_of(login),
                                              "passphrase": PASSPHRASE})
        await old.core.collections["io.hearth.bookmarks"].create({"title": "Deuxième"})
        await post(old.client, BASE, BASE + "run")
        assert (await finished(old.client))["state"] == "done"
    finally:
        await old.client.close()
    opened = Repository.open(repo, recovery.parse(key))
    added = [p for p in (repo / "packs").glob("*/*") if p.name not in before]
    [(store_pack, entries)] = [(p, d) for p, (kind, d) in
                               ((p, read_directory(p, opened.cipher)) for p in added)
                               if kind == DATA]
    data = bytearray(store_pack.read_bytes())
    for entry in entries:
        middle = entry.offset + entry.length // 2
        data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    store_pack.write_bytes(bytes(data))

    assert await move(new, key) == 303
    status, _page = await failed_then_page(new)
    assert int(str(status["files_done"])) >= len(SCANS)  # the Drive had come back, aside
    assert "damaged on the backup disk" in str(status["message"])
    still_fresh(new)  # the scans came back aside, and were not left in the Drive
    assert instance_id(new.core.data_dir) != instance_id(tmp_path / "old" / "usb" / "hearth")
