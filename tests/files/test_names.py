"""Names and paths: hostile ones are refused in plain words, and nothing is created."""
from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.files import FileTree, InvalidName, check_name, check_path
from appliance.store import Collection
from tests.files.conftest import leftovers, on_disk, stream

HOSTILE = [
    ("..", "upper folder"),
    (".", "current"),
    ("a\0b", "control character"),
    ("a/b", "'/'"),
    ("a\\b", "'\\'"),
    ("line\nbreak", "control character"),
    ("x" * 300, "too long (300 bytes"),
    ("é" * 128, "too long (256 bytes"),
    ("CON.txt", "Windows reserves"),
    ("con", "Windows reserves"),
    ("LPT9.tar.gz", "Windows reserves"),
    ("report.", "ends with a dot"),
    ("report ", "ends with a dot or a space"),
    ("", "empty"),
    ("bad\udcffbytes", "UTF-8"),
]


@pytest.mark.parametrize(("name", "why"), HOSTILE)
def test_hostile_names_are_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(InvalidName) as caught:
        check_name(name)
    assert why in str(caught.value)


@pytest.mark.parametrize("name", ["CONSOLE.txt", "icon.png", "COM10", ".bashrc",
                                  "a" * 255, "é" * 127, "Ünïcödé 🐱.jpg", " leading"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_name(name) == unicodedata.normalize("NFC", name)


def test_names_come_back_in_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Éléphant.jpg")
    assert check_name(nfd) == "Éléphant.jpg" != nfd


@pytest.mark.parametrize(("path", "expected"), [
    ("", "/"), ("/", "/"), ("a/b", "/a/b"), ("/a/b/", "/a/b"), ("//a//b", "/a/b"),
])
def test_paths_are_normalised(path: str, expected: str) -> None:
    assert check_path(path) == expected


@pytest.mark.parametrize("path", ["/a/../etc", "/../x", "/a/./b", "/a/CON/b", "/a\\..\\b",
                                  "/" + "a/" * 2100, "/x\0y"])
def test_hostile_paths_are_refused_naming_the_problem(path: str) -> None:
    with pytest.raises(InvalidName) as caught:
        check_path(path)
    assert "path" in str(caught.value)


@pytest.mark.parametrize("path", ["/../escape.txt", "/a\0b", "/" + "x" * 300, "/CON.txt",
                                  "/trailing.", "/sub/../../escape.txt"])
async def test_nothing_is_created_for_a_hostile_path(tree: FileTree, data: Path,
                                                     coll: Collection, path: str) -> None:
    received = []

    async def upload() -> AsyncIterator[bytes]:
        received.append(True)
        yield b"payload"

    with pytest.raises(InvalidName):
        await tree.write(path, upload())
    with pytest.raises(InvalidName):
        await tree.mkdir(path)
    assert received == [], "the upload was refused before a byte was read"
    assert on_disk(data) == set() and leftovers(data) == [] and len(coll) == 0
    assert not (data.parent / "escape.txt").exists()


async def test_hostile_names_are_refused_by_every_operation(tree: FileTree) -> None:
    await tree.write("/ok.txt", stream(b"x"))
    for call in (tree.move("/ok.txt", "/../ok.txt"), tree.copy("/ok.txt", "/a/../../b"),
                 tree.stat("/.."), tree.list("/../.."), tree.delete("/.."),
                 tree.trash("/x/.."), tree.set_tags("/..", ["a"])):
        with pytest.raises(InvalidName):
            await call
    with pytest.raises(InvalidName):
        tree.real_path("/../../etc/passwd")
