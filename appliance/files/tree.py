"""The owner's file tree: plain files under <data>/files, their metadata in io.hearth.files."""
from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path

from appliance.files.folders import Copied, DriveFolders
from appliance.files.entry import (
    FILE,
    FOLDER,
    ROOT_ID,
    Doc,
    Fetched,
    FileEntry,
    entry_of,
    kind_of,
    new_doc,
    root_entry,
    with_content,
)
from appliance.files.errors import Exists, FilesError, NotADirectory, disk_error
from appliance.files.metadata import Metadata
from appliance.files.names import (
    ROOT,
    check_path,
    check_tags,
    fold,
    is_junk,
    is_within,
)
from appliance.files.nodes import Nodes, Spot, refuse_root
from appliance.files.rescan import Rescan, RescanReport
from appliance.files.spool import Spool
from appliance.files.tasks import settled
from appliance.files.trash import Trash
from appliance.memo import Memo
from appliance.store import Collection
from appliance.durable import FileOps

logger = logging.getLogger(__name__)
# FileTree.list shadows the builtin inside the class body, hence these names.
Entries = list[FileEntry]
Tags = list[str]
LISTED = 4096  # entries of listings kept, a few big folders' worth


class FileTree:
    """Browse, write, move, copy, trash and search the owner's files; nothing runs at init."""

    def __init__(self, data_dir: Path, collection: Collection, *, ops: FileOps | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._folders = DriveFolders(data_dir, ops or FileOps())
        self._meta = Metadata(collection)
        self._nodes = Nodes(self._folders, self._meta, clock)
        self._trash = Trash(self._nodes)
        self._rescan = Rescan(self._nodes)
        # The entries of listings: a folder is listed again and again (sync clients),
        # mostly unchanged. An entry depends only on its document's version and the stat.
        self._listed: Memo[tuple[object, ...], FileEntry] = Memo(LISTED)

    async def stat(self, path: str) -> FileEntry:
        """Return what is at path (NotFound if nothing)."""
        path = check_path(path)
        _, st = await self._nodes.locate(path)
        if path == ROOT:
            return root_entry(st)
        return entry_of(await self._nodes.known(path, st), st)

    async def fetch(self, path: str, limit: int) -> Fetched:
        """Return stat(path), where it is, and a file's content if at most limit bytes.

        One trip to a thread finds and reads it: small files are read this way.
        """
        path = check_path(path)
        real, st, content = await self._nodes.run(f"reading {path}", self._folders.fetch,
                                                   path, limit)
        if path == ROOT:
            return Fetched(root_entry(st), real, st, None)
        return Fetched(entry_of(await self._nodes.known(path, st), st), real, st, content)

    async def list(self, path: str) -> Entries:
        """Return a folder's files and folders, folders first, by name."""
        path = check_path(path)
        real, st = await self._nodes.locate(path)
        if kind_of(st) != FOLDER:
            raise NotADirectory(f"{path!r} is a file, not a folder")
        dir_id = ROOT_ID if path == ROOT else (await self._nodes.known(path, st))["_id"]
        listing = await self._nodes.run(f"reading {path}", self._folders.listing, real)
        docs = self._meta.listed(dir_id)
        shown = [f for f in listing.found if f.name in docs or not is_junk(f.name)]
        missing = [f for f in shown
                   if f.name not in docs or docs[f.name]["type"] != kind_of(f.st)]
        if missing:
            async with self._nodes.lock:
                docs = await self._nodes.adopt_many(path, dir_id, missing)
        # Documents carry their folded name: folding a thousand names again costs more
        # than the rest of the listing.
        ordered = sorted(((docs[f.name], f.st) for f in shown), key=_order)
        return [self._listed.get((doc["_id"], doc["_rev"], st.st_mode, st.st_size,
                                  st.st_mtime_ns), entry_of, doc, st)
                for doc, st in ordered]

    @settled
    async def mkdir(self, path: str) -> FileEntry:
        """Create a folder (Exists if the name is taken, NotFound if its parent is missing)."""
        path = check_path(path)
        if path == ROOT:
            raise Exists("the root folder always exists")
        async with self._nodes.lock:
            spot = await self._nodes.spot(path)
            if spot.st is not None:
                raise Exists(f"{path!r} already exists; pick another name")
            dir_id = await self._nodes.folder_id(spot.parent)
            st = await self._nodes.run(f"creating the folder {path}", self._folders.mkdir,
                                       spot.real)
            if spot.doc is not None:
                await self._meta.forget(spot.doc)
            saved = await self._meta.save(
                [new_doc(path, spot.name, dir_id, FOLDER, st, now=self._nodes.clock())])
        return entry_of(saved[0], st)

    async def write(self, path: str, chunks: AsyncIterator[bytes], *, overwrite: bool = True,
                    if_match: str | None = None, max_size: int | None = None) -> FileEntry:
        """Save a stream as the file at path; it shows up only once complete and synced."""
        path = check_path(path)
        refuse_root(path, "written")
        await self._target(path, overwrite, if_match)  # refuse before receiving anything
        async with Spool(self._folders) as spool:
            await spool.fill(chunks, f"saving {path}", max_size)
            return await self._install(spool, path, overwrite, if_match, None)

    def real_path(self, path: str) -> Path:
        """Return where an existing file or folder is on disk (a few stat calls; no links)."""
        path = check_path(path)
        try:
            return self._folders.locate(path)[0]
        except OSError as exc:
            raise disk_error(exc, f"reading {path}") from exc

    async def locate(self, path: str) -> Path:
        """Return real_path(path), found in a thread."""
        return (await self._nodes.locate(check_path(path)))[0]

    @settled
    async def move(self, src: str, dst: str, *, overwrite: bool = False) -> FileEntry:
        """Rename or move a file or folder; its id (and its descendants') stay the same."""
        src, dst = self._pair(src, dst, "moved")
        if src == dst:
            return await self.stat(src)
        async with self._nodes.lock:
            real, st = await self._nodes.locate(src)
            doc = await self._nodes.adopt(src, st)
            spot = await self._nodes.spot(dst)
            gone = None
            if not spot.holds(src, st):
                spot.check_free(overwrite)
                gone = await self._nodes.displace(spot)
            dir_id = await self._nodes.folder_id(spot.parent)
            new_st = await self._nodes.run(f"moving {src} to {dst}", self._folders.rename, real,
                                           spot.real)
            saved = await self._meta.relocate(doc, dst, spot.name, dir_id)
        await self._nodes.remove(gone)
        return entry_of(saved, new_st)

    async def copy(self, src: str, dst: str, *, overwrite: bool = False) -> FileEntry:
        """Copy a file or folder (streamed, hashed); the copy gets new ids and the same tags."""
        src, dst = self._pair(src, dst, "copied")
        real, st = await self._nodes.locate(src)
        (await self._nodes.spot(dst)).check_free(overwrite)  # before copying anything
        what = f"copying {src} to {dst}"
        if kind_of(st) == FILE:
            tags = (await self._nodes.known(src, st)).get("tags", [])
            async with Spool(self._folders) as spool:
                await spool.copy_from(real, what)
                return await self._install(spool, dst, overwrite, None, tags)
        stage = self._folders.temp(".copy")
        try:
            copied = await self._nodes.run_stoppable(
                what, lambda stop: self._folders.copy_tree(real, stage, stop))
            return await self._place_copy(stage, copied, src, dst, overwrite)
        finally:
            await self._nodes.remove(stage)

    @settled
    async def delete(self, path: str) -> None:
        """Delete a file or folder for good (not into the trash)."""
        path = check_path(path)
        refuse_root(path, "deleted")
        async with self._nodes.lock:
            await self._nodes.locate(path)  # NotFound if nothing is there
            gone = await self._nodes.displace(await self._nodes.spot(path))
        await self._nodes.remove(gone)
        logger.info("deleted %s", path)

    async def trash(self, path: str) -> FileEntry:
        """Put a file or folder in the trash, remembering where it came from."""
        return await self._trash.put(check_path(path))

    async def trashed(self) -> Entries:
        """Return what is in the trash, most recently trashed first."""
        return self._trash.items()

    async def restore(self, entry_id: str) -> FileEntry:
        """Put an item back where it came from (renamed "x (2)" if taken; parents re-created)."""
        return await self._trash.restore(entry_id)

    async def purge(self, entry_id: str) -> None:
        """Delete one item of the trash for good."""
        await self._trash.purge(entry_id)

    async def empty_trash(self) -> int:
        """Delete everything in the trash for good; return how many items went."""
        return await self._trash.empty()

    async def search(self, text: str, *, limit: int = 200) -> Entries:
        """Return files and folders whose name holds every word of text, ignoring case and accents."""
        words = fold(text).split()
        if not words:
            return []
        hits: list[tuple[bool, str, str, str]] = []

        def see(doc: Doc) -> None:
            folded = doc.get("folded", "")
            for word in words:
                if word not in folded:
                    return
            if not doc["trashed"]:
                hits.append((not folded.startswith(words[0]), folded, doc["path"], doc["_id"]))

        await self._meta.scan(see)
        found = (self._meta.get(hit[3]) for hit in sorted(hits)[:limit])
        return [entry_of(doc) for doc in found if doc is not None]

    async def usage(self) -> tuple[int, int, int]:
        """Return (bytes used by files, trash included; free bytes on the disk; disk size)."""
        used = [0]

        def see(doc: Doc) -> None:
            if doc.get("type") == FILE:
                used[0] += int(doc.get("size") or 0)

        await self._meta.scan(see)
        free, total = await self._nodes.run("measuring the data disk", self._folders.space)
        return used[0], free, total

    async def rescan(self) -> RescanReport:
        """Reconcile the metadata with what is on disk (edits made on another computer)."""
        return await self._rescan.run()

    @settled
    async def set_tags(self, path: str, tags: Iterable[str]) -> FileEntry:
        """Replace the tags of a file or folder."""
        clean = check_tags(tags)
        path = check_path(path)
        refuse_root(path, "tagged")
        async with self._nodes.lock:
            _, st = await self._nodes.locate(path)
            doc = await self._nodes.adopt(path, st)
            saved = await self._meta.save([{**doc, "tags": clean}])
        return entry_of(saved[0], st)

    async def _target(self, path: str, overwrite: bool, if_match: str | None) -> Spot:
        spot = await self._nodes.spot(path)
        if spot.st is not None and kind_of(spot.st) == FOLDER:
            raise Exists(f"{path!r} is a folder; a file can't replace it, pick another name")
        spot.check_free(overwrite)
        if if_match is not None:
            spot.check_match(if_match)
        return spot

    @settled
    async def _install(self, spool: Spool, path: str, overwrite: bool, if_match: str | None,
                       tags: Tags | None) -> FileEntry:
        """Move a complete temporary file to path and record it (the lock taken here)."""
        async with self._nodes.lock:
            spot = await self._target(path, overwrite, if_match)
            dir_id = await self._nodes.folder_id(spot.parent)
            st = await self._nodes.run(f"saving {path}", self._folders.place, spool.path, spot.real)
            spool.keep()
            now = self._nodes.clock()
            if spot.doc is not None and spot.doc["type"] == FILE:
                doc = with_content(spot.doc, st, spool.sha256, now)
            else:
                if spot.doc is not None:
                    await self._meta.forget(spot.doc)
                doc = new_doc(path, spot.name, dir_id, FILE, st, sha256=spool.sha256, now=now)
            if tags is not None:
                doc["tags"] = tags
            saved = await self._meta.save([doc])
        return entry_of(saved[0], st)

    def _pair(self, src: str, dst: str, action: str) -> tuple[str, str]:
        src, dst = check_path(src), check_path(dst)
        refuse_root(src, action)
        refuse_root(dst, "replaced")
        if src != dst and is_within(dst, src):
            raise FilesError(f"{src!r} can't be {action} into itself ({dst!r}); "
                             "pick a place outside it")
        return src, dst

    @settled
    async def _place_copy(self, stage: Path, copied: Sequence[Copied], src: str, dst: str,
                          overwrite: bool) -> FileEntry:
        """Move a complete copy of a folder to dst and record it (the lock taken here)."""
        async with self._nodes.lock:
            spot = await self._nodes.spot(dst)
            spot.check_free(overwrite)
            gone = await self._nodes.displace(spot)
            dir_id = await self._nodes.folder_id(spot.parent)
            top = await self._nodes.run(f"copying {src} to {dst}", self._folders.rename, stage,
                                        spot.real)
            saved = await self._meta.save(
                self._meta.copies(copied, src, dst, dir_id, self._nodes.clock()))
        await self._nodes.remove(gone)
        return entry_of(saved[0], top)


def _order(item: tuple[Doc, os.stat_result]) -> tuple[bool, str, str]:
    """Sort key of a listing: folders first, then by name ignoring case and accents."""
    doc = item[0]
    return doc["type"] != FOLDER, doc.get("folded") or fold(doc["name"]), doc["name"]
