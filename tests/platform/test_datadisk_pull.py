"""The data disk pulled out for real in the middle of writes, and plugged back in.

The box runs with udevd, a loop disk and the root helper, the data disk adopted. Three
streams write while it runs: documents through the data API (a token), files through
the Drive's upload route (a session) and through WebDAV (a device's password). In the
middle the disk goes: lazy unmount, `losetup -d`. The kernel keeps a loop device whose
filesystem is still open (here: the store's journals) until the last file is closed,
so the state of the disk at the instant of the pull is taken as a copy of its image,
made while the event loop stands still; that copy is what the disk holds when it comes
back, mounted and dirty, as a USB disk pulled out mid-write would be. udev's remove
for the partition is what the kernel announces for a real unplug; the loop device then
really goes once the box lets go of it. The same image file is attached again, the
kernel's own add reaches the box, which checks (fsck) and remounts it (docs/storage.md).

Every write answered 2xx before the pull must be there; no half-written file may show.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.auth.tokens import Scope
from appliance.datadisk.problems import MISSING
from appliance.settings import Settings
from tests.conftest import onboard
from tests.platform.conftest import Helper
from tests.platform.loopdisks import LoopDisk, LoopDisks, sh
from tests.platform.test_datadisk_real import adopt_new_disk, csrf_any, start_box, until

DOCTYPE = "io.hearth.bills"
DRIVE_FOLDER, DAV_FOLDER = "drive-uploads", "dav-uploads"
FILE_SIZE = 192 * 1024
Box = TestClient[web.Request, web.Application]


@dataclass
class Write:
    """One write the client sent: what, and how (and when) the box answered."""

    kind: str  # "doc", "drive" or "dav"
    key: str  # the document's label, or the file's name
    digest: str = ""
    status: int = 0
    answered: float = 0.0
    doc_id: str = ""
    said: str = ""  # the body of an error answer


@dataclass
class Streams:
    """The writes of every stream, and the instant of the pull."""

    writes: list[Write] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    cut: float = float("inf")

    def acknowledged(self) -> list[Write]:
        """Return the writes answered 2xx before the pull."""
        return [w for w in self.writes if 200 <= w.status < 300 and w.answered < self.cut]

    def late(self) -> list[Write]:
        """Return the writes answered after the pull (in flight when the disk went)."""
        return [w for w in self.writes if w.answered >= self.cut]

    async def send(self, write: Write, request: object) -> None:
        """Send one request, and note its answer (a dropped connection counts as none)."""
        self.writes.append(write)
        try:
            async with request as resp:  # type: ignore[attr-defined]
                body = await resp.read()
                write.status = resp.status
                if write.kind == "doc" and resp.status == 201:
                    write.doc_id = (await resp.json())["id"]
                if resp.status >= 300:
                    write.said = body[:300].decode(errors="replace")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            write.status = -1
        write.answered = time.monotonic()


async def documents(box: Box, token: str, streams: Streams, lane: int) -> None:
    n = 0
    while not streams.stop.is_set():
        amount = f"{lane}-{n}"
        n += 1
        await streams.send(Write("doc", amount), box.post(
            f"/data/{DOCTYPE}/", json={"label": amount, "amount": 42.5, "vendor": "EDF"},
            headers={"Authorization": f"Bearer {token}"}))


async def drive_uploads(box: Box, csrf: str, streams: Streams) -> None:
    n = 0
    while not streams.stop.is_set():
        body, name = os.urandom(FILE_SIZE), f"scan-{n}.bin"
        n += 1
        await streams.send(
            Write("drive", f"{DRIVE_FOLDER}/{name}", hashlib.sha256(body).hexdigest()),
            box.put(f"/apps/drive/api/files/{DRIVE_FOLDER}/{name}", data=body,
                    headers={"X-CSRF-Token": csrf,
                             "Content-Type": "application/octet-stream"}))


async def dav_uploads(dav: aiohttp.ClientSession, base: str, streams: Streams) -> None:
    n = 0
    while not streams.stop.is_set():
        body, name = os.urandom(FILE_SIZE), f"photo-{n}.bin"
        n += 1
        await streams.send(
            Write("dav", f"{DAV_FOLDER}/{name}", hashlib.sha256(body).hexdigest()),
            dav.put(f"{base}{DAV_FOLDER}/{name}", data=body))


def pull(disk: LoopDisk, mount: Path, snapshot: Path, streams: Streams) -> None:
    """Take the disk away: the event loop stands still meanwhile, so no answer goes out."""
    streams.cut = time.monotonic()
    streams.stop.set()
    sh("umount", "-l", str(mount))
    sh("losetup", "-d", disk.device)  # deferred by the kernel while the filesystem is open
    sh("cp", "--sparse=always", str(disk.image), str(snapshot))
    # What the kernel says when a USB disk goes; the loop device itself goes later.
    sh("udevadm", "trigger", "--settle", "--action=remove",
       f"/sys/class/block/{Path(disk.partitions[0]).name}")


def statuses(streams: Streams) -> dict[tuple[str, int], int]:
    """Return how many writes of each kind got each status."""
    return dict(Counter((w.kind, w.status) for w in streams.writes))


def ext4_state(image: Path) -> tuple[bool, bool]:
    """Return (cleanly unmounted, journal to replay) read from the ext4 superblock in `image`."""
    start = json.loads(sh("sfdisk", "--json", str(image)))["partitiontable"]["partitions"][0]
    with image.open("rb") as disk:
        disk.seek(start["start"] * 512 + 1024)
        superblock = disk.read(1024)
    state = int.from_bytes(superblock[0x3A:0x3C], "little")
    incompat = int.from_bytes(superblock[0x60:0x64], "little")
    return bool(state & 0x1), bool(incompat & 0x4)


def loop_devices_of(image: Path) -> str:
    """Return `losetup -j` for an image: empty once no loop device is backed by it."""
    return sh("losetup", "-j", str(image)).strip()


def plug_back(disk: LoopDisk) -> None:
    """Attach the same image to a loop device again and let the kernel read its partitions."""
    disk.attach()
    sh("partx", "-a", disk.device)
    disk.partitions = [f"{disk.device}p1"]
    deadline = time.monotonic() + 10
    while not Path(disk.partitions[0]).is_block_device():
        if time.monotonic() > deadline:
            raise AssertionError(f"{disk.partitions[0]} never appeared")
        time.sleep(0.02)


def files_in(folder: Path) -> dict[str, str]:
    """Return every file under `folder` by relative name, with its SHA-256."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
async def dav_session() -> AsyncIterator[list[aiohttp.ClientSession]]:
    sessions: list[aiohttp.ClientSession] = []
    yield sessions
    for session in sessions:
        await session.close()


async def test_pulled_out_mid_write_and_back_loses_no_acknowledged_write(
        loop_disks: LoopDisks, helper: Helper, settings: Settings, tmp_path: Path,
        dav_session: list[aiohttp.ClientSession]) -> None:
    box = await start_box(settings, helper)
    try:
        await run_the_pull(box, loop_disks, helper, tmp_path, dav_session)
    finally:
        await box.close()


async def run_the_pull(box: Box, loop_disks: LoopDisks, helper: Helper,
                       tmp_path: Path, dav_session: list[aiohttp.ClientSession]) -> None:
    await onboard(box)
    disk, csrf, fs_uuid = await adopt_new_disk(box, loop_disks, helper, size="256M",
                                               label="HEARTHDATA")
    core, mount = box.app[keys.CORE], helper.media / fs_uuid

    token, _ = await core.tokens.create("bills", [Scope.parse(f"{DOCTYPE}:POST")])
    password, device = await core.devices.add("laptop")
    dav = aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth(device.name, password)})
    dav_session.append(dav)
    base = str(box.make_url("/dav/"))
    async with dav.request("MKCOL", f"{base}{DAV_FOLDER}/") as made:
        assert made.status == 201, await made.text()

    streams = Streams()
    writers = [asyncio.create_task(documents(box, token, streams, lane)) for lane in range(3)]
    writers += [asyncio.create_task(drive_uploads(box, csrf, streams)),
                asyncio.create_task(dav_uploads(dav, base, streams))]

    def enough() -> bool:
        done = [w for w in streams.writes if 200 <= w.status < 300]
        return (sum(w.kind == "doc" for w in done) >= 60
                and sum(w.kind == "drive" for w in done) >= 6
                and sum(w.kind == "dav" for w in done) >= 6)
    try:
        await until(enough, "the streams to get going", timeout=60)
    except AssertionError:
        said = {w.said for w in streams.writes if w.said}
        raise AssertionError(f"the streams stalled: {statuses(streams)} {said}") from None
    snapshot = tmp_path / "at-the-pull.img"
    pull(disk, mount, snapshot, streams)
    await asyncio.wait_for(asyncio.gather(*writers), 60)
    await until(lambda: core.problem == MISSING, "the box to notice")
    refused = await box.post(f"/data/{DOCTYPE}/", json={"label": "after"},
                             headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 503
    await until(lambda: not loop_devices_of(disk.image), "the kernel to let the loop device go",
                timeout=30)

    # The disk as it was at the instant it went (mounted, mid-write) is what comes back.
    clean, to_replay = ext4_state(snapshot)
    assert to_replay, f"the pulled disk should come back with its journal to replay ({clean=})"
    os.replace(snapshot, disk.image)
    plug_back(disk)
    try:
        await until(lambda: core.available, "the box to take the disk back", timeout=30)
    except AssertionError:  # the kernel's add went by unseen: replay it for this node only
        sh("udevadm", "trigger", "--settle", "--action=add",
           f"/sys/class/block/{Path(disk.partitions[0]).name}")
        await until(lambda: core.available, "the box to take the disk back", timeout=60)
    checked = [line for line in helper.log.read_text().splitlines() if "checked" in line]

    acknowledged, late = streams.acknowledged(), streams.late()
    lost: list[str] = []
    for write in (w for w in acknowledged if w.kind == "doc"):
        got = await box.get(f"/data/{DOCTYPE}/{write.doc_id}",
                            headers={"X-CSRF-Token": await csrf_any(box)})
        if got.status != 200 or (await got.json())["label"] != write.key:
            lost.append(f"document {write.doc_id} ({write.key}): {got.status}")
    tree = files_in(core.data_dir / "files")
    for write in (w for w in acknowledged if w.kind != "doc"):
        if tree.get(write.key) != write.digest:
            lost.append(f"file {write.key}: {'absent' if write.key not in tree else 'differs'}")
    late_found = 0
    for write in (w for w in late if 200 <= w.status < 300):
        if write.kind == "doc":
            got = await box.get(f"/data/{DOCTYPE}/{write.doc_id}")
            late_found += got.status == 200
        else:
            late_found += tree.get(write.key) == write.digest
    sent = {w.key: w.digest for w in streams.writes if w.kind != "doc"}
    half_written = [name for name, digest in tree.items() if sent.get(name) != digest]
    counts = (f"acknowledged {len(acknowledged)} "
              f"(documents {sum(w.kind == 'doc' for w in acknowledged)}, "
              f"Drive {sum(w.kind == 'drive' for w in acknowledged)}, "
              f"WebDAV {sum(w.kind == 'dav' for w in acknowledged)}), "
              f"found {len(acknowledged) - len(lost)}, lost {len(lost)}; "
              f"in flight at the pull {len(late)} "
              f"(answers {sorted(w.status for w in late)}, found {late_found}); "
              f"half-written files visible {len(half_written)}; fsck: {checked[-1:]}")
    print(f"\nreal pull of the data disk: {counts}")
    assert not lost and not half_written, f"{counts}\nlost: {lost}\nhalf-written: {half_written}"
