"""Browsing and rearranging: folders, move, copy, delete, tags, search, usage, odd disks."""
from __future__ import annotations

import asyncio
import os
import time
import unicodedata
from pathlib import Path

import pytest

from appliance.files import (
    Exists,
    FilesError,
    FileTree,
    InvalidTag,
    NotADirectory,
    NotFound,
)
from appliance.durable import FileOps
from appliance.store import Collection
from tests.files.conftest import leftovers, on_disk, paths, sha, stream


async def make(tree: FileTree, *items: str) -> None:
    """Create folders ("x/") and files (content: their path) in order."""
    for item in items:
        if item.endswith("/"):
            await tree.mkdir(item)
        else:
            await tree.write(item, stream(item.encode()))


async def test_folders_list_their_children_folders_first(tree: FileTree) -> None:
    await make(tree, "/b.txt", "/Zoo/", "/a.txt", "/Attic/", "/Attic/old.txt")
    assert [(e.name, e.type) for e in await tree.list("/")] == [
        ("Attic", "directory"), ("Zoo", "directory"), ("a.txt", "file"), ("b.txt", "file")]
    root = await tree.stat("/")
    assert root.type == "directory" and root.path == "/" and root.mime == "inode/directory"
    attic = await tree.stat("/Attic")
    assert attic.size == 0 and attic.sha256 is None and attic.etag.startswith('"d')
    with pytest.raises(NotADirectory):
        await tree.list("/a.txt")
    with pytest.raises(NotFound):
        await tree.list("/nope")


async def test_mkdir_refuses_taken_names_and_missing_parents(tree: FileTree) -> None:
    await make(tree, "/Docs/", "/file.txt")
    with pytest.raises(Exists):
        await tree.mkdir("/Docs")
    with pytest.raises(Exists):
        await tree.mkdir("/file.txt")
    with pytest.raises(NotFound):
        await tree.mkdir("/missing/sub")
    with pytest.raises(NotADirectory):
        await tree.mkdir("/file.txt/sub")


async def test_moving_a_folder_carries_its_descendants_and_keeps_ids(
        tree: FileTree, coll: Collection, data: Path) -> None:
    await make(tree, "/Trips/", "/Trips/2024/", "/Trips/2024/beach.jpg", "/Trips/notes.txt",
               "/Archive/")
    before = {e.path: e.id for e in await tree.list("/Trips")}
    beach = await tree.stat("/Trips/2024/beach.jpg")
    moved = await tree.move("/Trips", "/Archive/Holidays")
    assert moved.path == "/Archive/Holidays" and moved.name == "Holidays"
    after = await tree.list("/Archive/Holidays")
    assert {e.name: e.id for e in after} == {p.rsplit("/", 1)[1]: i for p, i in before.items()}
    moved_beach = await tree.stat("/Archive/Holidays/2024/beach.jpg")
    assert moved_beach.id == beach.id and moved_beach.etag == beach.etag
    assert paths(coll.all()) == {"/Archive", "/Archive/Holidays", "/Archive/Holidays/2024",
                                 "/Archive/Holidays/2024/beach.jpg",
                                 "/Archive/Holidays/notes.txt"}
    assert "Archive/Holidays/2024/beach.jpg" in on_disk(data)
    with pytest.raises(NotFound):
        await tree.stat("/Trips")


async def test_move_refuses_to_clobber_unless_asked(tree: FileTree) -> None:
    await make(tree, "/a.txt", "/b.txt", "/Dir/", "/Dir/x/")
    with pytest.raises(Exists):
        await tree.move("/a.txt", "/b.txt")
    with pytest.raises(FilesError, match="into itself"):
        await tree.move("/Dir", "/Dir/x/Dir")
    a = await tree.stat("/a.txt")
    replaced = await tree.move("/a.txt", "/b.txt", overwrite=True)
    assert replaced.id == a.id and tree.real_path("/b.txt").read_bytes() == b"/a.txt"
    assert [e.name for e in await tree.list("/")] == ["Dir", "b.txt"]
    renamed = await tree.move("/b.txt", "/B.txt")
    assert renamed.id == a.id and renamed.name == "B.txt"


async def test_copying_a_folder_copies_everything_with_new_ids(
        tree: FileTree, coll: Collection, data: Path) -> None:
    await make(tree, "/Src/", "/Src/deep/", "/Src/deep/a.bin", "/Src/b.txt")
    await tree.set_tags("/Src/b.txt", ["keep"])
    originals = {e.id for e in await tree.list("/Src")}
    copy = await tree.copy("/Src", "/Copy")
    assert copy.type == "directory" and copy.id not in originals
    listed = await tree.list("/Copy")
    assert {e.name for e in listed} == {"deep", "b.txt"} and not originals & {e.id for e in listed}
    b = await tree.stat("/Copy/b.txt")
    assert b.tags == ("keep",) and b.sha256 == sha(b"/Src/b.txt")
    assert tree.real_path("/Copy/deep/a.bin").read_bytes() == b"/Src/deep/a.bin"
    assert (await tree.stat("/Copy/deep/a.bin")).sha256 == sha(b"/Src/deep/a.bin")
    assert len(coll) == 8 and leftovers(data) == []
    with pytest.raises(Exists):
        await tree.copy("/Src", "/Copy")
    with pytest.raises(FilesError, match="into itself"):
        await tree.copy("/Src", "/Src/deep/again")


async def test_copying_a_file(tree: FileTree) -> None:
    await make(tree, "/a.txt", "/other.txt")
    original = await tree.stat("/a.txt")
    copy = await tree.copy("/a.txt", "/b.txt")
    assert copy.id != original.id and copy.sha256 == original.sha256
    with pytest.raises(Exists):
        await tree.copy("/a.txt", "/other.txt")
    await tree.copy("/a.txt", "/other.txt", overwrite=True)
    assert tree.real_path("/other.txt").read_bytes() == b"/a.txt"


async def test_copy_over_a_folder_replaces_it_when_asked(tree: FileTree, coll: Collection) -> None:
    await make(tree, "/New/", "/New/n.txt", "/Old/", "/Old/o.txt")
    await tree.copy("/New", "/Old", overwrite=True)
    assert [e.name for e in await tree.list("/Old")] == ["n.txt"]
    assert paths(coll.all()) == {"/New", "/New/n.txt", "/Old", "/Old/n.txt"}


async def test_delete_is_for_good(tree: FileTree, coll: Collection, data: Path) -> None:
    await make(tree, "/Old/", "/Old/sub/", "/Old/sub/x.txt", "/keep.txt")
    await tree.delete("/Old")
    assert on_disk(data) == {"keep.txt"} and paths(coll.all()) == {"/keep.txt"}
    assert await tree.trashed() == [] and leftovers(data) == []
    with pytest.raises(NotFound):
        await tree.delete("/Old")
    with pytest.raises(FilesError, match="root folder"):
        await tree.delete("/")


async def test_tags_are_kept_in_order_without_repeats(tree: FileTree) -> None:
    await make(tree, "/a.txt")
    entry = await tree.set_tags("/a.txt", [" work ", "2024", "work", "Été"])
    assert entry.tags == ("work", "2024", "Été") == (await tree.stat("/a.txt")).tags
    with pytest.raises(InvalidTag):
        await tree.set_tags("/a.txt", [""])
    with pytest.raises(InvalidTag):
        await tree.set_tags("/a.txt", "work")


async def test_search_ignores_case_and_accents(tree: FileTree) -> None:
    await make(tree, "/Zoo/", "/Zoo/Eléphant.jpg", "/Zoo/ÉLÉPHANTS/", "/Zoo/lion.png",
               "/telephone.txt", "/Zoo/trashed-éléphant.txt")
    await tree.trash("/Zoo/trashed-éléphant.txt")
    found = [e.path for e in await tree.search("élé")]
    assert found == ["/Zoo/Eléphant.jpg", "/Zoo/ÉLÉPHANTS", "/telephone.txt"]
    assert [e.name for e in await tree.search("ELEPHANT jpg")] == ["Eléphant.jpg"]
    assert [e.name for e in await tree.search("ele", limit=1)] == ["Eléphant.jpg"]
    assert await tree.search("   ") == []


async def test_usage_counts_file_sizes_and_the_disk(tree: FileTree) -> None:
    await tree.write("/a.bin", stream(b"a" * 1000))
    await tree.write("/b.bin", stream(b"b" * 500))
    await tree.trash("/b.bin")
    used, free, total = await tree.usage()
    assert used == 1500 and 0 < free <= total


async def test_links_never_lead_out_of_the_files_folder(tree: FileTree, data: Path,
                                                        tmp_path: Path) -> None:
    await make(tree, "/inside.txt")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for visitors")
    os.symlink(secret, data / "files" / "link.txt")
    os.symlink(tmp_path, data / "files" / "linkdir")
    assert [e.name for e in await tree.list("/")] == ["inside.txt"]
    for path in ("/link.txt", "/linkdir/secret.txt"):
        with pytest.raises(NotFound):
            tree.real_path(path)
        with pytest.raises(NotFound):
            await tree.stat(path)
    assert tree.real_path("/inside.txt") == data / "files" / "inside.txt"


async def test_a_name_written_in_nfd_by_a_mac_is_found_in_nfc(tree: FileTree, data: Path) -> None:
    await tree.list("/")  # the files folder appears on first use
    nfd = unicodedata.normalize("NFD", "Éléphant.jpg")
    (data / "files" / nfd).write_bytes(b"trunk")
    [entry] = await tree.list("/")
    assert entry.name == "Éléphant.jpg" and entry.path == "/Éléphant.jpg"
    assert (await tree.stat(nfd)).id == entry.id == (await tree.stat("/Éléphant.jpg")).id
    assert tree.real_path("/Éléphant.jpg").read_bytes() == b"trunk"
    assert [e.name for e in await tree.search("elephant")] == ["Éléphant.jpg"]
    await tree.write("/Éléphant.jpg", stream(b"bigger trunk"))
    assert os.listdir(data / "files") == [nfd], "the Mac's file was replaced, not doubled"
    await tree.move("/Éléphant.jpg", "/Mammoth.jpg")
    assert os.listdir(data / "files") == ["Mammoth.jpg"]


class SlowDirSync(FileOps):
    """File operations whose folder syncs take a while (a slow USB disk)."""

    def fsync_dir(self, path: Path) -> None:
        time.sleep(0.1)
        super().fsync_dir(path)


async def test_a_change_runs_to_its_end_when_its_caller_leaves(data: Path,
                                                               coll: Collection) -> None:
    tree = FileTree(data, coll, ops=SlowDirSync())
    await make(tree, "/Album/", "/Album/song.mp3")
    song = await tree.stat("/Album/song.mp3")
    move = asyncio.create_task(tree.move("/Album", "/Records"))
    await asyncio.sleep(0.05)  # the folder is being renamed on disk
    move.cancel()
    with pytest.raises(asyncio.CancelledError):
        await move
    assert (await tree.stat("/Records/song.mp3")).id == song.id
    assert paths(coll.all()) == {"/Records", "/Records/song.mp3"}


async def test_fetch_reads_small_files_with_the_entry_that_describes_them(
        tree: FileTree, data: Path) -> None:
    await make(tree, "/Notes/", "/Notes/small.txt")
    await tree.write("/big.bin", stream(b"x" * 2000))
    small = await tree.fetch("/Notes/small.txt", 1000)
    assert small.content == b"/Notes/small.txt" and small.entry == await tree.stat(
        "/Notes/small.txt")
    assert small.real == tree.real_path("/Notes/small.txt")
    big = await tree.fetch("/big.bin", 1000)
    assert big.content is None and big.entry.size == 2000
    assert (await tree.fetch("/Notes", 1000)).content is None
    assert (await tree.fetch("/", 1000)).entry.path == "/"
    (data / "files" / "Notes" / "small.txt").write_bytes(b"edited elsewhere")
    edited = await tree.fetch("/Notes/small.txt", 1000)
    assert edited.content == b"edited elsewhere" and edited.entry.etag.startswith('"m')
    assert edited.entry.size == len(b"edited elsewhere")
    os.symlink(data / "files" / "big.bin", data / "files" / "Notes" / "link")
    for missing in ("/Notes/nothing", "/Notes/small.txt/x", "/Notes/link"):
        with pytest.raises((NotFound, NotADirectory)):
            await tree.fetch(missing, 1000)


async def test_listing_again_shows_every_change_made_since(tree: FileTree, data: Path) -> None:
    await make(tree, "/Docs/", "/Docs/a.txt", "/Docs/b.txt")
    first = {e.name: e for e in await tree.list("/Docs")}
    assert await tree.list("/Docs") == list(first.values())
    await tree.write("/Docs/a.txt", stream(b"rewritten"))
    await tree.move("/Docs/b.txt", "/Docs/c.txt")
    moved = {e.name: e for e in await tree.list("/Docs")}
    assert moved["c.txt"].id == first["b.txt"].id and moved["c.txt"].etag == first["b.txt"].etag
    assert moved["a.txt"].size == 9 and moved["a.txt"].etag != first["a.txt"].etag
    real = data / "files" / "Docs" / "c.txt"
    real.write_bytes(b"/Docs/B.txt")  # same size, edited on another computer
    os.utime(real, ns=(0, real.stat().st_mtime_ns + 5_000_000_000))
    second = {e.name: e for e in await tree.list("/Docs")}
    assert second["c.txt"].etag.startswith('"m') and second["a.txt"] == moved["a.txt"]
    await tree.rescan()
    third = {e.name: e for e in await tree.list("/Docs")}
    assert third["c.txt"].sha256 == sha(b"/Docs/B.txt") and third["a.txt"] == second["a.txt"]
