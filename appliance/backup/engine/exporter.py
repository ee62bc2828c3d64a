"""export: the owner's files as they are and one JSON file per doctype, in a plain archive."""
from __future__ import annotations

import io
import json
import logging
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from appliance.backup.engine.backuperrors import BackupError, explain
from appliance.backup.engine.storecopy import collection_documents
from appliance.durable import place

logger = logging.getLogger(__name__)

README = """This archive is an export of a Hearth box, readable without Hearth.

files/               the owner's files and folders, as they were on the box
documents/<type>.json  every document of one type (bank operations, bills, notes' metadata,
                     contacts...), as a JSON array of objects; "_id" and "_rev" are Hearth's
trash/               what was in the trash, under trash/<id>/<name>
"""


class _Archive(Protocol):
    def add_file(self, path: Path, name: str, st: os.stat_result) -> None: ...
    def add_bytes(self, name: str, data: bytes) -> None: ...
    def close(self) -> None: ...


class _Tar:
    def __init__(self, path: Path) -> None:
        if path.name.removesuffix(".part").endswith((".tar.gz", ".tgz")):
            self._tar = tarfile.open(  # noqa: SIM115 - closed by close()
                path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1)
        else:
            self._tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add_file(self, path: Path, name: str, st: os.stat_result) -> None:
        info = self._tar.gettarinfo(str(path), arcname=name)
        with open(path, "rb") as fh:
            self._tar.addfile(info, fh)

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self._tar.close()


class _Zip:
    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)

    def add_file(self, path: Path, name: str, st: os.stat_result) -> None:
        self._zip.write(path, name)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._zip.writestr(name, data)

    def close(self) -> None:
        self._zip.close()


@dataclass
class ExportReport:
    """What went into the archive."""

    files: int = 0
    bytes: int = 0
    doctypes: int = 0
    documents: int = 0


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Yield the regular files under root (symbolic links, FIFOs and devices left out)."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                yield path, st


def export(data: Path, out: Path, *, exclude: frozenset[str] = frozenset()) -> ExportReport:
    """Write the data folder's files and documents (less `exclude`d doctypes) to out."""
    if not (data / "files").is_dir() and not (data / "store").is_dir():
        raise BackupError(f"{data} is not a Hearth data folder (no files/ nor store/); give "
                          "the right one with --data")
    temp = out.with_name(f".{out.name}.part")
    report = ExportReport()
    try:
        archive: _Archive = _Zip(temp) if out.suffix == ".zip" else _Tar(temp)
        try:
            archive.add_bytes("README.txt", README.encode())
            for top in ("files", "trash"):
                for path, st in _walk(data / top):
                    archive.add_file(path, path.relative_to(data).as_posix(), st)
                    report.files += 1
                    report.bytes += st.st_size
            store = data / "store"
            for folder in sorted(store.iterdir()) if store.is_dir() else ():
                if folder.is_dir() and folder.name not in exclude:
                    _add_documents(archive, folder, report)
        finally:
            archive.close()
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        place(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise explain(exc, out.parent, "writing the export") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return report


def _add_documents(archive: _Archive, folder: Path, report: ExportReport) -> None:
    docs = collection_documents(folder)
    if docs is None:
        return
    docs.sort(key=lambda d: str(d["_id"]))
    archive.add_bytes(f"documents/{folder.name}.json",
                      json.dumps(docs, ensure_ascii=False, indent=1).encode("utf-8"))
    report.doctypes += 1
    report.documents += len(docs)
