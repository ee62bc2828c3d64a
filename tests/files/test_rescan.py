"""Rescan: edits made on a PC (the disk plugged in elsewhere) show up, and nothing is lost."""
from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

from appliance.files import FileTree, RescanReport
from appliance.store import Collection
from tests.files.conftest import leftovers, paths, sha, stream


async def test_a_pc_edit_is_taken_in_keeping_ids_and_tags(tree: FileTree, data: Path,
                                                          coll: Collection) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        await tree.write(f"/{name}", stream(name.encode()))
    await tree.mkdir("/D")
    await tree.write("/D/d.txt", stream(b"d"))
    await tree.set_tags("/a.txt", ["untouched"])
    await tree.set_tags("/b.txt", ["edited"])
    a, b = await tree.stat("/a.txt"), await tree.stat("/b.txt")

    files = data / "files"  # the PC's turn
    (files / "new.txt").write_bytes(b"made on the PC")
    (files / "New").mkdir()
    (files / "New" / "inner.txt").write_bytes(b"inner")
    (files / "b.txt").write_bytes(b"b, rewritten on the PC")
    os.utime(files / "b.txt", ns=(time.time_ns(), time.time_ns() + 10**9))
    (files / "c.txt").unlink()
    shutil.rmtree(files / "D")

    provisional = await tree.stat("/b.txt")  # before a rescan: the etag changes already
    assert provisional.etag != b.etag and provisional.sha256 is None
    assert provisional.size == len(b"b, rewritten on the PC")

    assert await tree.rescan() == RescanReport(added=3, updated=1, removed=3)
    assert paths(coll.all()) == {"/a.txt", "/b.txt", "/new.txt", "/New", "/New/inner.txt"}
    assert await tree.stat("/a.txt") == a
    edited = await tree.stat("/b.txt")
    assert edited.id == b.id and edited.tags == ("edited",)
    assert edited.sha256 == sha(b"b, rewritten on the PC") and edited.etag not in (
        b.etag, provisional.etag)
    assert (await tree.stat("/New/inner.txt")).sha256 == sha(b"inner")
    assert await tree.rescan() == RescanReport()


async def test_files_seen_before_a_rescan_are_hashed_by_it(tree: FileTree, data: Path) -> None:
    await tree.list("/")
    (data / "files" / "dropped.txt").write_bytes(b"dropped")
    [seen] = await tree.list("/")
    assert seen.sha256 is None and seen.etag.startswith('"m')
    assert await tree.rescan() == RescanReport(added=1)
    hashed = await tree.stat("/dropped.txt")
    assert hashed.id == seen.id and hashed.sha256 == sha(b"dropped")


async def test_a_touched_file_is_not_counted_as_changed(tree: FileTree, data: Path) -> None:
    entry = await tree.write("/same.txt", stream(b"same"))
    os.utime(data / "files" / "same.txt", ns=(1, 10**18))
    assert await tree.rescan() == RescanReport()
    assert (await tree.stat("/same.txt")).etag == entry.etag


async def test_junk_links_and_bad_names_are_left_out(tree: FileTree, data: Path,
                                                     coll: Collection, tmp_path: Path) -> None:
    await tree.list("/")
    files = data / "files"
    for junk in (".DS_Store", "._photo.jpg", "Thumbs.db", "desktop.ini"):
        (files / junk).write_bytes(b"junk")
    os.symlink(tmp_path, files / "escape")
    (files / "bad\\name.txt").write_bytes(b"a Linux PC allows it")
    (files / ".hidden-but-real").write_bytes(b"a dotfile is the owner's")
    report = await tree.rescan()
    assert report == RescanReport(added=1, skipped=2)
    assert paths(coll.all()) == {"/.hidden-but-real"}
    assert [e.name for e in await tree.list("/")] == [".hidden-but-real"]


async def test_a_folder_replaced_by_a_file_and_a_crash_leftover(tree: FileTree, data: Path,
                                                                coll: Collection) -> None:
    await tree.mkdir("/thing")
    await tree.write("/thing/inside.txt", stream(b"x"))
    shutil.rmtree(data / "files" / "thing")
    (data / "files" / "thing").write_bytes(b"now a file")
    (data / "tmp" / "files-0123.part").write_bytes(b"an upload cut by a power loss")
    os.utime(data / "tmp" / "files-0123.part", (time.time() - 7200, time.time() - 7200))
    (data / "tmp" / "files-4567.part").write_bytes(b"another Hearth's upload, going on")
    assert await tree.rescan() == RescanReport(added=1, removed=2)
    thing = await tree.stat("/thing")
    assert thing.type == "file" and paths(coll.all()) == {"/thing"}
    assert leftovers(data) == ["files-4567.part"]


async def test_a_trashing_cut_short_by_a_crash_is_finished(tree: FileTree, data: Path) -> None:
    entry = await tree.write("/old.txt", stream(b"old"))
    home = data / "trash" / entry.id
    home.mkdir(parents=True)
    os.rename(data / "files" / "old.txt", home / "old.txt")  # the crash came before the store
    assert await tree.rescan() == RescanReport()
    assert [e.id for e in await tree.trashed()] == [entry.id]
    assert (await tree.restore(entry.id)).path == "/old.txt"


async def test_trashed_items_whose_content_vanished_are_dropped(tree: FileTree,
                                                                data: Path) -> None:
    await tree.write("/a.txt", stream(b"a"))
    item = await tree.trash("/a.txt")
    shutil.rmtree(data / "trash" / item.id)
    assert await tree.rescan() == RescanReport(removed=1)
    assert await tree.trashed() == []


async def test_thousands_of_files_and_writes_beside_a_rescan(tree: FileTree, data: Path,
                                                             coll: Collection) -> None:
    files = data / "files"
    for i in range(40):
        folder = files / f"folder {i:02}"
        folder.mkdir(parents=True)
        for j in range(50):
            (folder / f"file {j:02}.txt").write_bytes(f"{i}-{j}".encode())
    writes = [tree.write(f"/folder {i:02}/file 00.txt", stream(b"through Hearth"))
              for i in range(0, 40, 4)]
    report, *_ = await asyncio.gather(tree.rescan(), *writes)
    assert report.removed == 0 and len(coll) == 40 + 40 * 50
    for i in range(0, 40, 4):
        entry = await tree.stat(f"/folder {i:02}/file 00.txt")
        assert entry.sha256 == sha(b"through Hearth")
    assert await tree.rescan() == RescanReport()
    assert all(d["sha256"] for d in coll.all() if d["type"] == "file")
