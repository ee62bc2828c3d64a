"""Faults on a real backup disk (an ext4 loop disk, seen by udevd): full, pulled out, rotting."""
from __future__ import annotations

import fcntl
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.backup.engine.archiver import Archiver, Sources
from appliance.backup.engine.backuperrors import DiskFull
from appliance.backup.engine.checker import Checker
from appliance.backup.engine.repository import Repository
from appliance.backup.engine.restorer import Restorer
from tests.backup.conftest import big_blob_pack, fingerprint, make_data, run_worker
from tests.platform.conftest import loop_disks, loop_images, udevd  # noqa: F401 - fixtures
from tests.platform.loopdisks import LoopDisk, LoopDisks, sh, wait_for_udev

FIBMAP = 1  # ioctl: a file's block number -> the disk's block number
LABEL = "hearth-bk-engine"  # ext4 labels hold 16 bytes


@dataclass
class BackupDisk:
    """An ext4 loop disk mounted at `mount`, recognised again by its UUID when plugged back."""

    disk: LoopDisk
    mount: Path
    uuid: str

    def plug(self) -> None:
        """Attach the image, wait until udev has probed our filesystem on it, and mount it."""
        self.disk.attach()
        wait_for_udev(self.disk.device, ID_FS_UUID=self.uuid, ID_FS_TYPE="ext4")
        sh("mount", self.disk.device, str(self.mount))

    def pull_out(self) -> None:
        """Take the disk away under a running program: lazy unmount, then detach the loop."""
        sh("umount", "--lazy", str(self.mount))
        sh("losetup", "-d", self.disk.device)

    def wait_until_gone(self, timeout: float = 15) -> None:
        """Wait until the kernel has let go of the loop device (its last user is gone)."""
        backing = Path("/sys/block", self.disk.name, "loop", "backing_file")
        deadline = time.monotonic() + timeout
        while backing.exists() and backing.read_text().strip() == str(self.disk.image):
            assert time.monotonic() < deadline, f"{self.disk.device} is still attached"
            time.sleep(0.05)
        self.disk.device = ""

    def grow(self, size: str) -> None:
        """Make the disk bigger, as if the repository were moved to a bigger disk."""
        sh("umount", str(self.mount))
        sh("truncate", "-s", size, str(self.disk.image))
        sh("losetup", "-c", self.disk.device)
        sh("e2fsck", "-f", "-y", self.disk.device)
        sh("resize2fs", self.disk.device)
        sh("mount", self.disk.device, str(self.mount))


    def rot(self, path: Path, offset: int) -> None:
        """Flip a bit of `path` at `offset` on the disk itself, under the filesystem."""
        block = os.statvfs(path).f_bsize
        with open(path, "rb") as fh:
            packed = fcntl.ioctl(fh.fileno(), FIBMAP, struct.pack("i", offset // block))
        where = struct.unpack("i", packed)[0] * block + offset % block
        sh("umount", str(self.mount))  # drops the page cache: the next read hits the disk
        with open(self.disk.device, "r+b", buffering=0) as raw:
            byte = os.pread(raw.fileno(), 1, where)
            os.pwrite(raw.fileno(), bytes([byte[0] ^ 0x08]), where)
        sh("mount", self.disk.device, str(self.mount))


def backup_disk(disks: LoopDisks, where: Path, size: str) -> BackupDisk:
    """Return a new ext4 loop disk of `size`, mounted at `where`."""
    disk = disks.create(size)
    uuid = disk.make_fs(disk.device, "ext4", LABEL, "-m", "0")
    where.mkdir()
    found = BackupDisk(disk, where, uuid)
    sh("mount", disk.device, str(where))
    return found


@pytest.fixture
def small_disk(loop_disks: LoopDisks, tmp_path: Path) -> Iterator[BackupDisk]:  # noqa: F811
    """A 16 MiB backup disk."""
    yield backup_disk(loop_disks, tmp_path / "small", "16M")


@pytest.fixture
def usb_disk(loop_disks: LoopDisks, tmp_path: Path) -> Iterator[BackupDisk]:  # noqa: F811
    """A 512 MiB backup disk."""
    yield backup_disk(loop_disks, tmp_path / "usb", "512M")


def test_a_full_disk_gives_a_clear_error_and_a_bigger_one_completes_the_backup(
        small_disk: BackupDisk, tmp_path: Path, key: str) -> None:
    data = make_data(tmp_path / "data", big=1 << 20)
    repo = Repository.init(small_disk.mount / "repo", key)
    first = Archiver(repo, Sources(data)).run()
    (data / "files" / "video.mp4").write_bytes(os.urandom(24 << 20))
    with pytest.raises(DiskFull, match="full.*consistent.*prune"):
        Archiver(repo, Sources(data)).run()
    assert not list((repo.path / "tmp").iterdir()) and not (repo.path / "lock").exists()
    assert Checker(repo, read_data=True).run().ok
    Restorer(repo, repo.find_snapshot(first.id), tmp_path / "first").run()
    assert (tmp_path / "first" / "files" / "notes.txt").read_bytes() == \
        (data / "files" / "notes.txt").read_bytes()
    small_disk.grow("64M")
    second = Archiver(repo, Sources(data)).run()
    assert second.parent == first.id
    Restorer(repo, second, tmp_path / "second").run()
    assert fingerprint(tmp_path / "second") == fingerprint(data, skip=("tmp", "system"))
    assert Checker(repo, read_data=True).run().ok


def test_a_disk_pulled_out_mid_backup_says_so_and_the_next_run_completes(
        usb_disk: BackupDisk, tmp_path: Path, key: str) -> None:
    data = make_data(tmp_path / "data", big=4 << 20, small=100)
    repo = Repository.init(usb_disk.mount / "repo", key)
    first = Archiver(repo, Sources(data)).run()
    for n in range(3):
        (data / "files" / f"video-{n}.mp4").write_bytes(os.urandom(48 << 20))
    worker = run_worker(repo.path, data, key)
    assert worker.stdout is not None and worker.stdout.readline() == b"started\n"
    usb_disk.pull_out()
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 1, out + err
    message = err.decode()
    assert "error: " in message and "Traceback" not in message
    assert "unplugged" in message and "hearth backup check" in message, message
    usb_disk.wait_until_gone()
    assert not os.listdir(usb_disk.mount), "the backup wrote to the folder under the disk"

    usb_disk.plug()
    repo = Repository.open(usb_disk.mount / "repo", key)
    report = Checker(repo, read_data=True).run()
    assert report.ok, report.damage  # the interrupted run's packs are at most notes
    assert [s.id for s in repo.snapshots()] == [first.id]
    second = Archiver(repo, Sources(data)).run()  # the stale lock of the dead run is cleared
    assert second.parent == first.id
    Restorer(repo, second, tmp_path / "out").run()
    assert fingerprint(tmp_path / "out") == fingerprint(data, skip=("tmp", "system"))


def test_bit_rot_in_a_pack_is_named_with_its_snapshots_and_everything_else_restores(
        usb_disk: BackupDisk, tmp_path: Path, key: str) -> None:
    data = make_data(tmp_path / "data", big=4 << 20)
    repo = Repository.init(usb_disk.mount / "repo", key)
    snapshots = [Archiver(repo, Sources(data)).run()]
    (data / "files" / "notes.txt").write_text("a newer version\n")
    snapshots.append(Archiver(repo, Sources(data)).run())
    pack, offset = big_blob_pack(repo)
    repo.close()
    usb_disk.rot(pack, offset)

    repo = Repository.open(usb_disk.mount / "repo", key)
    report = Checker(repo, read_data=True).run()
    assert len(report.damage) == 1 and pack.name in report.damage[0], report.damage
    assert "1 of" in report.damage[0]
    assert sorted(report.affected) == sorted(
        f"snapshot {s.short_id} ({s.when}): files/Photos/cat.jpg" for s in snapshots)
    restored = Restorer(repo, snapshots[-1], tmp_path / "out").run()
    assert [d.split(":")[0] for d in restored.damaged] == ["files/Photos/cat.jpg"]
    expected = fingerprint(data, skip=("tmp", "system", "files/Photos/cat.jpg"))
    assert fingerprint(tmp_path / "out") == expected
