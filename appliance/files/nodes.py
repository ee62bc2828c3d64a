"""The items of the file tree, disk and documents together, changed under one lock."""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from appliance.files.folders import DriveFolders, Found
from appliance.files.entry import (
    FILE,
    FOLDER,
    ROOT_ID,
    Doc,
    disk_etag,
    etag_matches,
    etag_of,
    kind_of,
    new_doc,
)
from appliance.files.errors import (
    Conflict,
    Exists,
    FilesError,
    NotADirectory,
    disk_error,
)
from appliance.files.metadata import Metadata
from appliance.files.names import ROOT, join, split
from appliance.files.tasks import stoppable

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Spot:
    """Where a path would be: its folder (which exists) and what is there now, if anything."""

    path: str
    name: str
    parent: str
    parent_real: Path
    real: Path
    st: os.stat_result | None  # None when nothing is there
    doc: Doc | None            # the document for the path, if there is one

    def check_free(self, overwrite: bool) -> None:
        """Raise Exists if something is there and may not be replaced."""
        if self.st is not None and not overwrite:
            raise Exists(f"{self.path!r} already exists; pick another name or replace it")

    def check_match(self, if_match: str) -> None:
        """Raise Conflict unless the file here has the etag the caller knew ("*": any)."""
        if self.st is None:
            raise Conflict(f"{self.path!r} was moved or deleted since you opened it; "
                           "reload, then redo your change")
        doc = self.doc
        current = etag_of(doc, self.st) if doc and doc["type"] == FILE else disk_etag(self.st)
        if not etag_matches(if_match, current):
            raise Conflict(f"{self.path!r} changed since you opened it (on another device?); "
                           "reload it, then redo your change")

    def holds(self, src: str, st: os.stat_result) -> bool:
        """Tell whether src itself is here, spelled otherwise (a change of case on exFAT)."""
        return (self.st is not None and os.path.samestat(self.st, st)
                and split(src)[0] == self.parent
                and split(src)[1].casefold() == self.name.casefold())


class Nodes:
    """Folders on disk and documents of the tree; methods marked "locked" expect `lock` to be held.

    Every change (disk rename plus document writes) happens under the one lock,
    so two changes never interleave; long work (receiving, copying, hashing,
    deleting content) happens outside it.
    """

    def __init__(self, folders: DriveFolders, meta: Metadata,
                 clock: Callable[[], float] = time.time) -> None:
        self.folders = folders
        self.meta = meta
        self.clock = clock
        self.lock = asyncio.Lock()

    async def run(self, what: str, work: Callable[..., T], *args: object) -> T:
        """Run blocking disk work in a thread, its system errors told as FilesError."""
        try:
            return await asyncio.to_thread(work, *args)
        except OSError as exc:
            raise disk_error(exc, what) from exc

    async def run_stoppable(self, what: str, work: Callable[[threading.Event], T]) -> T:
        """Run long blocking disk work (a copy, a hash) that stops if we are cancelled."""
        try:
            return await stoppable(work)
        except OSError as exc:
            raise disk_error(exc, what) from exc

    async def locate(self, path: str) -> tuple[Path, os.stat_result]:
        """Return where an existing item is on disk and its stat (NotFound if nowhere)."""
        return await self.run(f"reading {path}", self.folders.locate, path)

    async def spot(self, path: str) -> Spot:
        """Return where a path other than the root is, checking that its folder exists."""
        parent, name = split(path)
        parent_real, parent_st = await self.locate(parent)
        if kind_of(parent_st) != FOLDER:
            raise NotADirectory(f"{parent!r} is a file, not a folder; pick a folder")
        real, st = await self.run(f"reading {path}", self.folders.child, parent_real, name)
        return Spot(path, name, parent, parent_real, real, st, self.meta.live(path))

    async def known(self, path: str, st: os.stat_result) -> Doc:
        """Return the document of an item found on disk (read only), giving it one if none."""
        doc = self.meta.seen(path)
        if doc is not None and doc["type"] == kind_of(st):
            return doc
        async with self.lock:
            return await self.adopt(path, st)

    async def adopt(self, path: str, st: os.stat_result) -> Doc:
        """Return the document of an item on disk, created if it has none (locked)."""
        parent, name = split(path)
        dir_id = await self.folder_id(parent)
        return (await self.adopt_many(parent, dir_id, [Found(name, st, "")]))[name]

    async def adopt_many(self, parent: str, dir_id: str, found: Sequence[Found]
                         ) -> dict[str, Doc]:
        """Return documents for items of one folder, creating those missing (locked).

        A document of the wrong kind (a folder replaced by a file on another
        computer) is replaced; new files are not hashed here, rescan does that.
        """
        docs = self.meta.named(dir_id)
        fresh: list[Doc] = []
        for item in found:
            doc = docs.get(item.name)
            if doc is not None and doc["type"] == kind_of(item.st):
                continue
            if doc is not None:
                await self.meta.forget(doc)
            kind = kind_of(item.st) or FOLDER
            fresh.append(new_doc(join(parent, item.name), item.name, dir_id, kind, item.st))
        for doc in await self.meta.save(fresh):
            docs[doc["name"]] = doc
        return docs

    async def folder_id(self, path: str) -> str:
        """Return the id of an existing folder's document, adopting it if needed (locked)."""
        if path == ROOT:
            return ROOT_ID
        doc = self.meta.live(path)
        if doc is not None and doc["type"] == FOLDER:
            return str(doc["_id"])
        _, st = await self.locate(path)
        if kind_of(st) != FOLDER:
            raise NotADirectory(f"{path!r} is a file, not a folder")
        return str((await self.adopt(path, st))["_id"])

    async def makedirs(self, path: str) -> tuple[str, Path]:
        """Return the id and place of a folder, creating it and its parents if gone (locked)."""
        if path == ROOT:
            return ROOT_ID, self.folders.files
        parent, name = split(path)
        dir_id, parent_real = await self.makedirs(parent)
        real, st = await self.run(f"reading {path}", self.folders.child, parent_real, name)
        if st is None:
            st = await self.run(f"creating the folder {path}", self.folders.mkdir, real)
            logger.info("created the folder %s again", path)
        if kind_of(st) != FOLDER:
            raise NotADirectory(f"{path!r} is a file now, not a folder; rename or move it, "
                                "then try again")
        docs = await self.adopt_many(parent, dir_id, [Found(name, st, str(real))])
        return str(docs[name]["_id"]), real

    async def displace(self, spot: Spot) -> Path | None:
        """Move what is at a spot out of the way into tmp/, forgetting it (locked).

        Return where its content waits to be removed with folders.remove (outside
        the lock), or None if nothing was there.
        """
        gone = None
        if spot.st is not None:
            gone = await self.run(f"replacing {spot.path}", self.folders.discard, spot.real)
        if spot.doc is not None:
            await self.meta.forget(spot.doc)
        return gone

    async def remove(self, gone: Path | None) -> None:
        """Delete content moved out of the way, in a thread; failures are left to rescan."""
        if gone is None:
            return
        try:
            await asyncio.to_thread(self.folders.remove, gone)
        except OSError:
            logger.exception("could not delete %s; the next rescan will try again", gone)


def refuse_root(path: str, action: str) -> None:
    """Raise FilesError if an action can't apply to the root folder."""
    if path == ROOT:
        raise FilesError(f"the root folder can't be {action}; pick a file or folder in it")
