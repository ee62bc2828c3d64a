"""Checking every piece from the page, and engine errors told in the owner's language."""
from __future__ import annotations

import os
from pathlib import Path

from appliance.backup.box.where import instance_id
from appliance.backup.engine.lock import RepositoryLock
from appliance.platform.disks import REMOVED, FakeDisks
from tests.backup.box.conftest import BASE, Box, chunks, finished, post, set_up, start_box
from tests.conftest import onboard

PHOTO = os.urandom(600_000)


def repo_of(box: Box, tmp_path: Path) -> Path:
    return tmp_path / "backupdisk" / "hearth-backups" / instance_id(box.core.data_dir)


def damage_the_biggest_pack(repo: Path) -> None:
    """Flip bytes in the middle of the biggest pack: inside a file's data, not its directory."""
    pack = max((p for p in (repo / "packs").glob("*/*")), key=lambda p: p.stat().st_size)
    data = bytearray(pack.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(b ^ 0xFF for b in data[middle:middle + 16])
    pack.write_bytes(bytes(data))


async def backed_up(box: Box) -> None:
    await box.core.files.mkdir("/Photos")
    await box.core.files.write("/Photos/cat.jpg", chunks(PHOTO))
    await post(box.client, BASE, BASE + "run")
    assert (await finished(box.client))["state"] == "done"


async def test_checking_every_piece_names_the_damaged_files(box: Box, tmp_path: Path) -> None:
    await set_up(box)
    await backed_up(box)
    page = await (await box.client.get(BASE)).text()
    assert "Check every piece (slower)" in page
    damage_the_biggest_pack(repo_of(box, tmp_path))

    # The quick check reads the structure only: the damage inside a file goes unseen…
    await post(box.client, BASE, BASE + "check")
    quick = await finished(box.client)
    assert quick["state"] == "done" and "No damage found in 1 backups" in quick["message"]
    # …checking every piece reads it all back, with progress, and names what it touches.
    await post(box.client, BASE, BASE + "check", every="yes")
    status = await finished(box.client)
    assert status["state"] == "failed", status
    assert status["files_total"] > 0 and status["files_done"] == status["files_total"]
    assert "the backup of" in status["message"] and "Photos/cat.jpg" in status["message"]
    assert "not affected" in status["message"] and "pack" not in status["message"]
    assert status["percent"] == 100  # it read everything, and found damage
    page = await (await box.client.get(BASE)).text()
    assert "Photos/cat.jpg" in page and "parts read" in page


async def test_a_clean_disk_passes_the_full_check(box: Box) -> None:
    await set_up(box)
    await backed_up(box)
    await post(box.client, BASE, BASE + "check", every="yes")
    status = await finished(box.client)
    assert status["state"] == "done" and "No damage found" in status["message"]
    assert status["bytes_done"] >= len(PHOTO)


async def test_errors_reach_a_french_owner_in_french(tmp_path: Path, disks: FakeDisks) -> None:
    box = await start_box(tmp_path / "box", disks)
    try:
        await onboard(box.client, language="fr")
        await set_up(box)
        await backed_up(box)
        damage_the_biggest_pack(repo_of(box, tmp_path))
        await post(box.client, BASE, BASE + "check", every="yes")
        status = await finished(box.client)
        assert "Photos/cat.jpg" in status["message"]
        assert "la sauvegarde du" in status["message"] and "pas touchés" in status["message"]

        # Another run holds the backup disk: said in French, with what to do.
        lock = RepositoryLock.acquire(repo_of(box, tmp_path), "prune")
        try:
            await post(box.client, BASE, BASE + "run")
            status = await finished(box.client)
        finally:
            lock.release()
        assert status["state"] == "failed"
        assert "Une autre tâche de sauvegarde utilise le disque" in status["message"], status
        notes = await (await box.client.get("/notifications")).text()
        assert "Votre sauvegarde a échoué" in notes and "Une autre tâche" in notes
        assert "repository" not in notes

        box.disks.emit(REMOVED, box.disks.disks[0])
        await post(box.client, BASE, BASE + "run")
        status = await finished(box.client)
        assert "Branchez-le" in status["message"], status
    finally:
        await box.client.close()
