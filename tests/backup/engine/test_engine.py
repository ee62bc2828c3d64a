"""Backups and restores through the engine: byte-identical, incremental, deduplicated."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.backuperrors import BackupError
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import Restorer
from appliance.store import Store
from tests.backup.conftest import DOCTYPE, fingerprint, make_data


def backup(repo: Repository, data: Path, *, system: bool = True) -> str:
    return Archiver(repo, Sources(data, data / "system" if system else None)).run().id


def test_a_restore_is_byte_identical_with_modes_and_mtimes(repo: Repository,
                                                           tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    snapshot = repo.find_snapshot(backup(repo, data))
    report = Restorer(repo, snapshot, tmp_path / "out").run()
    assert not report.damaged
    restored = fingerprint(tmp_path / "out")
    expected = fingerprint(data, skip=("tmp", "system/standby"))
    assert restored == expected
    assert "store/io.hearth.notes/journal.log" in restored
    with Store.open_sync(tmp_path / "out" / "store") as store:  # the store opens as it was
        assert len(store.collection_sync(DOCTYPE).all()) == 50


def test_the_second_backup_reads_only_what_changed_and_stores_only_new_chunks(
        repo: Repository, tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", big=24 << 20)
    backup(repo, data)
    photo = data / "files" / "Photos" / "cat.jpg"
    with open(photo, "r+b") as fh:  # 1 MB in the middle of 24 MB
        fh.seek(12 << 20)
        fh.write(os.urandom(1 << 20))
    (data / "files" / "new.txt").write_text("new")
    second = repo.find_snapshot(backup(repo, data))
    stats = second.stats
    assert stats["files"] - stats["unchanged_files"] == 4  # cat.jpg, new.txt, the store's two
    # The chunks the change touches, at most one of the largest (4 MiB) either side: not 24 MB.
    assert 1 << 20 <= stats["new_bytes"] < (1 << 20) + 2 * repo.config["chunker"]["max"]
    Restorer(repo, second, tmp_path / "out").run(["files/Photos/cat.jpg"])
    assert (tmp_path / "out/files/Photos/cat.jpg").read_bytes() == photo.read_bytes()
    third = repo.find_snapshot(backup(repo, data))
    assert third.stats["new_blobs"] <= 1 and third.parent == second.id  # only the root tree


def test_identical_content_is_stored_once(repo: Repository, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "files").mkdir(parents=True)
    content = os.urandom(3 << 20)
    for name in ("a.bin", "b.bin", "c.bin"):
        (data / "files" / name).write_bytes(content)
    snapshot = repo.find_snapshot(backup(repo, data))
    assert snapshot.stats["new_bytes"] < (3 << 20) + 10_000


def test_one_path_or_one_folder_is_restored_alone(repo: Repository, tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    snapshot = repo.find_snapshot(backup(repo, data))
    Restorer(repo, snapshot, tmp_path / "out").run(["/files/notes.txt", "files/Photos/2024"])
    out = tmp_path / "out"
    assert (out / "files/notes.txt").read_bytes() == (data / "files/notes.txt").read_bytes()
    assert len(list((out / "files/Photos/2024").iterdir())) == 40
    assert not (out / "files/Photos/cat.jpg").exists() and not (out / "store").exists()
    with pytest.raises(BackupError, match="isn't in snapshot"):
        Restorer(repo, snapshot, out).run(["files/nope.txt"])


def test_an_older_snapshot_restores_what_was_deleted_since(repo: Repository,
                                                           tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    first = backup(repo, data)
    (data / "files" / "notes.txt").unlink()
    backup(repo, data)
    Restorer(repo, repo.find_snapshot(first[:6]), tmp_path / "out").run(["files/notes.txt"])
    assert (tmp_path / "out/files/notes.txt").read_text().startswith("meeting notes")


def test_the_system_folder_is_included_but_not_this_box_s_disk_choice(
        repo: Repository, tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    (data / "system" / "datadisk.json").write_text("{}")
    snapshot = repo.find_snapshot(backup(repo, data))
    Restorer(repo, snapshot, tmp_path / "out").run()
    assert (tmp_path / "out/system/keyring").read_text() == "hearth-keyring/1 secret"
    assert not (tmp_path / "out/system/standby").exists()
    assert not (tmp_path / "out/system/datadisk.json").exists()
    assert not (tmp_path / "out/tmp").exists()


def test_a_store_written_and_compacted_during_the_backup_is_copied_consistently(
        repo: Repository, tmp_path: Path) -> None:
    """Each restored collection is a state the store was in: no older version comes back."""
    data = make_data(tmp_path / "data", docs=0)
    stop = threading.Event()
    store = Store.open_sync(data / "store", compact_at=2048)  # compacts every few writes
    notes = store.collection_sync(DOCTYPE).table

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            notes.insert({"n": n, "pad": "x" * 200})
            notes.upsert({"_id": "counter", "n": n}, cond=lambda d: d.doc_id == "counter")
    writer = threading.Thread(target=write)
    writer.start()
    try:
        snapshots = [backup(repo, data, system=False) for _ in range(4)]
    finally:
        stop.set()
        writer.join()
        store.close_sync()
    for number, snapshot_id in enumerate(snapshots):
        out = tmp_path / f"out{number}"
        Restorer(repo, repo.find_snapshot(snapshot_id), out).run(["store"])
        with Store.open_sync(out / "store") as restored:
            docs = restored.collection_sync(DOCTYPE).all()
        counter = next((d["n"] for d in docs if d["_id"] == "counter"), 0)
        inserted = sorted(d["n"] for d in docs if d["_id"] != "counter")
        assert inserted[:counter] == list(range(1, counter + 1)), "a write went missing"
        assert len(inserted) in (counter, counter + 1), "the copy mixes two moments"
