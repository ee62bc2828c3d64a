"""check names what is damaged; restore recovers everything else."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.checker import Checker
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import Restorer
from tests.backup.conftest import big_blob_pack, fingerprint, make_data, packs


@pytest.fixture
def backed_up(repo: Repository, tmp_path: Path) -> Path:
    """A data folder with one snapshot of it in repo."""
    data = make_data(tmp_path / "data")
    Archiver(repo, Sources(data)).run()
    return data


def test_a_healthy_repository_checks_clean(repo: Repository, backed_up: Path) -> None:
    report = Checker(repo, read_data=True).run()
    assert report.ok and not report.notes
    assert report.snapshots == 1 and report.packs >= 2 and report.bytes_read > 3 << 20


def test_a_flipped_byte_is_found_and_everything_else_restores(
        repo: Repository, backed_up: Path, tmp_path: Path) -> None:
    pack, offset = big_blob_pack(repo)
    with open(pack, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x40]))
    assert Checker(repo).run().ok  # the structure is intact: only reading finds it
    report = Checker(repo, read_data=True).run()
    assert any(pack.name in d and "1 of" in d for d in report.damage), report.damage
    assert len(report.affected) == 1 and report.affected[0].endswith("files/Photos/cat.jpg")
    restored = Restorer(repo, repo.find_snapshot(None), tmp_path / "out").run()
    assert [d.split(":")[0] for d in restored.damaged] == ["files/Photos/cat.jpg"]
    expected = fingerprint(backed_up, skip=("tmp", "system", "files/Photos/cat.jpg"))
    assert fingerprint(tmp_path / "out") == expected


def test_a_missing_pack_is_named_with_the_files_it_held(repo: Repository,
                                                        backed_up: Path) -> None:
    pack, _ = big_blob_pack(repo)
    pack.unlink()
    report = Checker(repo).run()
    assert any(pack.name in d and "missing" in d for d in report.damage)
    assert any(a.endswith("files/Photos/cat.jpg") for a in report.affected)


def test_a_damaged_footer_and_a_damaged_snapshot_are_named(repo: Repository,
                                                          backed_up: Path) -> None:
    pack = packs(repo.path)[0]
    with open(pack, "r+b") as fh:
        fh.seek(-20, 2)
        fh.write(b"\0" * 8)
    snapshot = next((repo.path / "snapshots").iterdir())
    snapshot.write_bytes(snapshot.read_bytes()[:-1] + b"!")
    report = Checker(repo).run()
    assert any(pack.name in d and "directory is damaged" in d for d in report.damage)
    assert any(f"snapshot {snapshot.name[:8]} is damaged" in d for d in report.damage)


def test_a_pack_left_by_an_interrupted_backup_is_only_a_note(repo: Repository,
                                                             backed_up: Path) -> None:
    pack = packs(repo.path)[0]
    shutil.copy(pack, pack.with_name("0" * 32))
    report = Checker(repo, read_data=True).run()
    assert report.ok and len(report.notes) == 1 and "interrupted" in report.notes[0]
