"""What callers see of a file or folder (FileEntry), built from its document and the disk."""
from __future__ import annotations

import mimetypes
import os
import stat as stats
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from appliance.files.names import ROOT, fold

Doc = dict[str, Any]
FILE = "file"
FOLDER = "directory"
FOLDER_MIME = "inode/directory"
ROOT_ID = "root"    # the dir_id of the root's children (the root has no document)
TRASH_ID = "trash"  # the dir_id of an item put in the trash (its descendants keep theirs)


@dataclass(frozen=True)
class FileEntry:
    """A file or folder as the owner sees it."""

    id: str             # the io.hearth.files document _id, stable across rename and move
    path: str           # "/Photos/cat.jpg"; for an item in the trash, where it came from
    name: str
    type: str           # "file" | "directory"
    size: int           # bytes (0 for folders)
    mime: str           # from the name; "inode/directory" for folders
    sha256: str | None  # files only; None while the file changed on disk and isn't hashed yet
    created_at: float
    updated_at: float
    etag: str
    tags: tuple[str, ...]
    trashed: bool

    @property
    def is_dir(self) -> bool:
        """Tell whether this is a folder."""
        return self.type == FOLDER


class Fetched(NamedTuple):
    """A file or folder found, where it is on disk, its stat, and a small file's content."""

    entry: FileEntry
    real: Path
    st: os.stat_result
    content: bytes | None  # None for a folder or a file too big to be read at once


def kind_of(st: os.stat_result) -> str | None:
    """Return FILE or FOLDER for what a stat describes, None for anything else (links…)."""
    if stats.S_ISREG(st.st_mode):
        return FILE
    if stats.S_ISDIR(st.st_mode):
        return FOLDER
    return None


def mime_of(name: str, kind: str = FILE) -> str:
    """Return the media type a name suggests."""
    if kind == FOLDER:
        return FOLDER_MIME
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def is_fresh(doc: Doc, st: os.stat_result | None) -> bool:
    """Tell whether a document still describes the file on disk (same size and mtime)."""
    return st is None or (st.st_size == doc["size"] and st.st_mtime_ns == doc["mtime_ns"])


def etag_of(doc: Doc, st: os.stat_result | None = None) -> str:
    """Return the etag: content hash and size for a hashed file, else disk mtime based.

    A folder's etag follows its mtime, which changes when an entry is added,
    removed or renamed in it. A file changed on disk and not hashed again yet
    gets an mtime-based etag until the next rescan.
    """
    if doc.get("sha256") and doc["type"] == FILE and is_fresh(doc, st):
        return f'"{doc["sha256"][:16]}-{doc["size"]}"'
    if st is not None:
        return disk_etag(st)
    kind = "d" if doc["type"] == FOLDER else "m"
    return f'"{kind}{doc["mtime_ns"]:x}-{doc["size"]}"'


def disk_etag(st: os.stat_result) -> str:
    """Return the etag of what the disk shows, before it is hashed (or of a folder)."""
    if kind_of(st) == FOLDER:
        return f'"d{st.st_mtime_ns:x}"'
    return f'"m{st.st_mtime_ns:x}-{st.st_size}"'


def entry_of(doc: Doc, st: os.stat_result | None = None) -> FileEntry:
    """Return the FileEntry of a document, corrected by the disk's stat when given."""
    fresh = is_fresh(doc, st)
    folder = doc["type"] == FOLDER
    return FileEntry(
        id=doc["_id"], path=doc["path"], name=doc["name"], type=doc["type"],
        size=0 if folder else doc["size"] if fresh or st is None else st.st_size,
        mime=doc["mime"],
        sha256=doc.get("sha256") if fresh and not folder else None,
        created_at=doc["created_at"],
        updated_at=doc["updated_at"] if st is None or (fresh and not folder) else st.st_mtime,
        etag=etag_of(doc, st), tags=tuple(doc.get("tags", ())), trashed=doc["trashed"])


def root_entry(st: os.stat_result) -> FileEntry:
    """Return the FileEntry of the root folder, which has no document."""
    return FileEntry(id=ROOT_ID, path=ROOT, name="", type=FOLDER, size=0, mime=FOLDER_MIME,
                     sha256=None, created_at=st.st_mtime, updated_at=st.st_mtime,
                     etag=disk_etag(st), tags=(), trashed=False)


def new_doc(path: str, name: str, dir_id: str, kind: str, st: os.stat_result, *,
            sha256: str | None = None, now: float | None = None) -> Doc:
    """Return the fields of a new document for what lies at `path` on disk."""
    born = st.st_mtime if now is None else now
    return {
        "_id": uuid.uuid4().hex, "path": path, "name": name, "folded": fold(name), "dir_id": dir_id, "type": kind,
        "size": 0 if kind == FOLDER else st.st_size, "mtime_ns": st.st_mtime_ns,
        "mime": mime_of(name, kind), "sha256": None if kind == FOLDER else sha256,
        "created_at": born, "updated_at": born, "trashed": False, "tags": [],
    }


def with_content(doc: Doc, st: os.stat_result, sha256: str | None, now: float) -> Doc:
    """Return a file's document once its content is `st` (hashed as sha256) at time now."""
    return {**doc, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256,
            "updated_at": now}


def moved(doc: Doc, path: str, name: str, dir_id: str) -> Doc:
    """Return a document once its item is at `path` named `name` in folder dir_id."""
    return {**doc, "path": path, "name": name, "folded": fold(name), "dir_id": dir_id,
            "mime": mime_of(name, doc["type"])}


def etag_matches(if_match: str, current: str) -> bool:
    """Tell whether an If-Match value names the current etag ("*" names any)."""
    def bare(etag: str) -> str:
        etag = etag.strip()
        return (etag.removeprefix("W/")).strip('"')
    return if_match.strip() == "*" or bare(if_match) == bare(current)
