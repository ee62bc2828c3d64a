"""Writing files: streamed, hashed, atomic; a failed or cancelled upload leaves nothing."""
from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.files import (
    Conflict,
    Exists,
    FileTree,
    NoSpace,
    NotADirectory,
    NotFound,
    TooLarge,
)
from appliance.durable import FileOps
from appliance.store import Collection, Store
from tests.files.conftest import leftovers, on_disk, sha, stream

MiB = 1 << 20


async def test_a_written_file_reads_back_with_its_hash(tree: FileTree, data: Path) -> None:
    await tree.mkdir("/Photos")
    content = os.urandom(3 * MiB + 17)
    parts = [content[i:i + 65536] for i in range(0, len(content), 65536)]
    entry = await tree.write("/Photos/cat.jpg", stream(*parts))
    assert tree.real_path("/Photos/cat.jpg").read_bytes() == content
    assert (entry.path, entry.name, entry.type, entry.size) == (
        "/Photos/cat.jpg", "cat.jpg", "file", len(content))
    assert entry.sha256 == sha(content) and entry.mime == "image/jpeg"
    assert entry.etag == f'"{sha(content)[:16]}-{len(content)}"'
    assert await tree.stat("/Photos/cat.jpg") == entry
    assert [e.name for e in await tree.list("/Photos")] == ["cat.jpg"]
    assert leftovers(data) == []


async def test_overwriting_keeps_the_id_and_tags_and_changes_the_etag(tree: FileTree) -> None:
    first = await tree.write("/notes.txt", stream(b"one"))
    await tree.set_tags("/notes.txt", ["work"])
    second = await tree.write("/notes.txt", stream(b"two!"))
    assert second.id == first.id and second.tags == ("work",)
    assert second.etag != first.etag and second.sha256 == sha(b"two!")
    with pytest.raises(Exists, match="already exists"):
        await tree.write("/notes.txt", stream(b"three"), overwrite=False)
    assert tree.real_path("/notes.txt").read_bytes() == b"two!"


async def test_an_upload_that_fails_half_way_leaves_nothing(tree: FileTree, data: Path,
                                                            coll: Collection) -> None:
    async def broken() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * MiB  # enough for batches to be written to the temporary file
        raise ConnectionResetError("the browser went away")

    with pytest.raises(ConnectionResetError):
        await tree.write("/big.bin", broken())
    assert on_disk(data) == set() and leftovers(data) == [] and len(coll) == 0
    with pytest.raises(NotFound):
        await tree.stat("/big.bin")


async def test_a_failed_overwrite_keeps_the_old_content(tree: FileTree) -> None:
    await tree.write("/doc.txt", stream(b"precious"))

    async def broken() -> AsyncIterator[bytes]:
        yield b"half"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await tree.write("/doc.txt", broken())
    assert tree.real_path("/doc.txt").read_bytes() == b"precious"
    assert (await tree.stat("/doc.txt")).sha256 == sha(b"precious")


async def test_a_cancelled_upload_leaves_nothing(tree: FileTree, data: Path,
                                                 coll: Collection) -> None:
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"y" * (2 * MiB)
        started.set()
        await asyncio.sleep(60)
        yield b"never"

    task = asyncio.create_task(tree.write("/slow.bin", slow()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert on_disk(data) == set() and leftovers(data) == [] and len(coll) == 0


async def test_too_large_uploads_are_refused_and_dropped(tree: FileTree, data: Path) -> None:
    with pytest.raises(TooLarge, match="larger than the 1,000 bytes"):
        await tree.write("/a.bin", stream(b"z" * 600, b"z" * 600), max_size=1000)
    assert on_disk(data) == set() and leftovers(data) == []
    assert (await tree.write("/a.bin", stream(b"z" * 1000), max_size=1000)).size == 1000


async def test_a_missing_folder_is_refused_before_receiving(tree: FileTree, data: Path) -> None:
    read = []

    async def upload() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"data"

    with pytest.raises(NotFound, match="/nowhere"):
        await tree.write("/nowhere/a.txt", upload())
    await tree.write("/file", stream(b"a file"))
    with pytest.raises(NotADirectory):
        await tree.write("/file/a.txt", upload())
    await tree.mkdir("/folder")
    with pytest.raises(Exists, match="is a folder"):
        await tree.write("/folder", upload())
    assert read == [] and leftovers(data) == []


async def test_if_match_refuses_a_write_based_on_an_old_version(tree: FileTree) -> None:
    first = await tree.write("/plan.md", stream(b"v1"))
    second = await tree.write("/plan.md", stream(b"v2"), if_match=first.etag)
    with pytest.raises(Conflict, match="changed since you opened it"):
        await tree.write("/plan.md", stream(b"v3 from a stale tab"), if_match=first.etag)
    assert tree.real_path("/plan.md").read_bytes() == b"v2"
    assert (await tree.stat("/plan.md")).etag == second.etag
    await tree.write("/plan.md", stream(b"v3"), if_match="*")
    with pytest.raises(Conflict, match="moved or deleted"):
        await tree.write("/gone.md", stream(b"x"), if_match=second.etag)


async def test_if_match_is_checked_again_when_the_upload_ends(tree: FileTree) -> None:
    start = await tree.write("/shared.txt", stream(b"base"))
    gate = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"from the slow device"
        await gate.wait()

    slow_write = asyncio.create_task(tree.write("/shared.txt", slow(), if_match=start.etag))
    await asyncio.sleep(0.05)
    await tree.write("/shared.txt", stream(b"from the fast device"), if_match=start.etag)
    gate.set()
    with pytest.raises(Conflict):
        await slow_write
    assert tree.real_path("/shared.txt").read_bytes() == b"from the fast device"


async def test_concurrent_writers_of_one_path_never_mix(tree: FileTree, data: Path,
                                                        coll: Collection) -> None:
    contents = [bytes([65 + i]) * (MiB + i * 4096) for i in range(6)]

    async def chunked(content: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(content), 100_000):
            await asyncio.sleep(0)
            yield content[i:i + 100_000]

    entries = await asyncio.gather(*(tree.write("/same.bin", chunked(c)) for c in contents))
    final = tree.real_path("/same.bin").read_bytes()
    assert final in contents, "one writer's content, whole"
    stat = await tree.stat("/same.bin")
    assert stat.sha256 == sha(final) and stat.size == len(final)
    assert len({e.id for e in entries}) == 1 and len(coll) == 1
    assert leftovers(data) == []


async def test_a_big_upload_keeps_memory_flat(tree: FileTree) -> None:
    block = os.urandom(64 * 1024)
    peak = [0]

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    async def upload() -> AsyncIterator[bytes]:
        for i in range(200 * 16):  # 200 MiB
            if i % 64 == 0:
                peak[0] = max(peak[0], rss())
            yield block

    before = rss()
    entry = await tree.write("/video.mkv", upload())
    assert entry.size == 200 * MiB
    assert max(peak[0], rss()) - before < 30 * MiB


class FullDisk(FileOps):
    """File operations on a disk that fills up after `room` bytes."""

    def __init__(self, room: int, *, at_fsync: bool = False) -> None:
        super().__init__(write=self._write, fsync=self._fsync)
        self.room, self.at_fsync = room, at_fsync

    def _write(self, fd: int, data: bytes, offset: int) -> int:
        if offset + len(data) > self.room and not self.at_fsync:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.pwrite(fd, data, offset)

    def _fsync(self, fd: int) -> None:
        if self.at_fsync and os.fstat(fd).st_size > self.room:  # delayed allocation: the
            # disk says it is full only when the data is synced
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fdatasync(fd)


@pytest.mark.parametrize("at_fsync", [False, True])
async def test_a_full_disk_gives_nospace_and_leaves_nothing(data: Path, coll: Collection,
                                                            at_fsync: bool) -> None:
    tree = FileTree(data, coll, ops=FullDisk(2 * MiB, at_fsync=at_fsync))
    await tree.write("/old.txt", stream(b"kept"))
    with pytest.raises(NoSpace, match="disk is full.*free some space"):
        await tree.write("/movie.mp4", stream(*[b"m" * MiB] * 4))
    with pytest.raises(NoSpace):
        await tree.write("/old.txt", stream(*[b"m" * MiB] * 4))
    assert on_disk(data) == {"old.txt"} and leftovers(data) == [] and len(coll) == 1
    assert tree.real_path("/old.txt").read_bytes() == b"kept"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Path:
    """A real 4 MiB tmpfs as the data folder (mounted for this test only)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


async def test_a_really_full_disk_gives_nospace(tiny_disk: Path, store: Store) -> None:
    coll = await store.collection("io.hearth.files", indexes=("path", "dir_id"))
    tree = FileTree(tiny_disk, coll)
    with pytest.raises(NoSpace):
        await tree.write("/huge.bin", stream(*[b"h" * MiB] * 8))
    assert on_disk(tiny_disk) == set() and leftovers(tiny_disk) == [] and len(coll) == 0
    entry = await tree.write("/small.txt", stream(b"fits"))
    assert entry.size == 4
