"""`hearth export`: a plain archive of the files and the documents, run as a user would."""
from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.backup.conftest import make_data
from tests.cli.test_backup import hearth


@pytest.mark.parametrize("name", ["home.tar", "home.zip"])
def test_export_is_a_plain_archive_with_one_json_file_per_doctype(tmp_path: Path,
                                                                   name: str) -> None:
    data = make_data(tmp_path / "data", big=1 << 10)
    out = tmp_path / name
    done = hearth("export", "--data", data, out)
    assert "50 documents" in done.stdout
    if name.endswith(".zip"):
        with zipfile.ZipFile(out) as archive:
            names = archive.namelist()
            notes = json.loads(archive.read("documents/io.hearth.notes.json"))
            text = archive.read("files/notes.txt")
    else:
        with tarfile.open(out) as archive:
            names = archive.getnames()
            member = archive.extractfile("documents/io.hearth.notes.json")
            assert member is not None
            notes = json.loads(member.read())
            member = archive.extractfile("files/notes.txt")
            assert member is not None
            text = member.read()
    assert len(notes) == 50 and {"_id", "_rev", "title"} <= set(notes[0])
    assert text == (data / "files" / "notes.txt").read_bytes()
    assert "files/Photos/2024/IMG_0001.txt" in names and "README.txt" in names
    assert not any(n.startswith(("system", "tmp", "store")) for n in names)
