"""The trash: out of sight, restorable to where it came from, emptied for good."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.files import FileTree, NotFound
from appliance.store import Collection
from tests.files.conftest import on_disk, paths, stream


async def test_trashed_items_leave_the_tree_and_remember_their_place(
        tree: FileTree, data: Path) -> None:
    await tree.mkdir("/Photos")
    await tree.write("/Photos/cat.jpg", stream(b"meow"))
    cat = await tree.stat("/Photos/cat.jpg")
    trashed = await tree.trash("/Photos/cat.jpg")
    assert trashed.id == cat.id and trashed.trashed and trashed.path == "/Photos/cat.jpg"
    assert await tree.list("/Photos") == []
    assert on_disk(data) == {"Photos"}, "a PC reading the disk doesn't see the trash"
    assert (data / "trash" / cat.id / "cat.jpg").read_bytes() == b"meow"
    assert [e.id for e in await tree.trashed()] == [cat.id]
    with pytest.raises(NotFound):
        await tree.stat("/Photos/cat.jpg")
    restored = await tree.restore(cat.id)
    assert restored.path == "/Photos/cat.jpg" and not restored.trashed
    assert restored.id == cat.id and restored.sha256 == cat.sha256
    assert await tree.trashed() == [] and list((data / "trash").iterdir()) == []


async def test_restoring_over_a_taken_name_adds_a_number(tree: FileTree) -> None:
    await tree.write("/report.pdf", stream(b"first"))
    first = await tree.trash("/report.pdf")
    await tree.write("/report.pdf", stream(b"second"))
    second = await tree.trash("/report.pdf")
    await tree.write("/report.pdf", stream(b"third"))
    assert (await tree.restore(first.id)).path == "/report (2).pdf"
    assert (await tree.restore(second.id)).path == "/report (3).pdf"
    contents = {e.name: e.size for e in await tree.list("/")}
    assert contents == {"report.pdf": 5, "report (2).pdf": 5, "report (3).pdf": 6}


async def test_a_folder_comes_back_whole_even_if_its_parent_is_gone(
        tree: FileTree, coll: Collection) -> None:
    for folder in ("/A", "/A/B", "/A/B/Album"):
        await tree.mkdir(folder)
    await tree.write("/A/B/Album/song.mp3", stream(b"la la"))
    album = await tree.trash("/A/B/Album")
    assert all(d["trashed"] for d in coll.all() if d["path"].startswith("/A/B/Album"))
    await tree.delete("/A")
    restored = await tree.restore(album.id)
    assert restored.path == "/A/B/Album"
    assert [e.name for e in await tree.list("/A/B/Album")] == ["song.mp3"]
    assert paths(coll.all()) == {"/A", "/A/B", "/A/B/Album", "/A/B/Album/song.mp3"}
    assert not any(d["trashed"] for d in coll.all())


async def test_a_folder_restored_beside_a_namesake_gets_a_number(tree: FileTree) -> None:
    await tree.mkdir("/Music")
    gone = await tree.trash("/Music")
    await tree.mkdir("/Music")
    assert (await tree.restore(gone.id)).name == "Music (2)"


async def test_emptying_the_trash_deletes_for_good(tree: FileTree, coll: Collection,
                                                   data: Path) -> None:
    await tree.mkdir("/Old")
    await tree.write("/Old/a.txt", stream(b"a"))
    await tree.write("/b.txt", stream(b"b"))
    await tree.write("/keep.txt", stream(b"k"))
    old = await tree.trash("/Old")
    await tree.trash("/b.txt")
    assert await tree.empty_trash() == 2
    assert await tree.trashed() == [] and paths(coll.all()) == {"/keep.txt"}
    assert list((data / "trash").iterdir()) == [] and on_disk(data) == {"keep.txt"}
    with pytest.raises(NotFound, match="not in the trash"):
        await tree.restore(old.id)
    assert await tree.empty_trash() == 0


async def test_one_item_can_be_deleted_from_the_trash(tree: FileTree, data: Path) -> None:
    await tree.write("/a.txt", stream(b"a"))
    await tree.write("/b.txt", stream(b"b"))
    a, b = await tree.trash("/a.txt"), await tree.trash("/b.txt")
    await tree.purge(a.id)
    assert [e.id for e in await tree.trashed()] == [b.id]
    assert [p.name for p in (data / "trash").iterdir()] == [b.id]
    with pytest.raises(NotFound):
        await tree.purge(a.id)
