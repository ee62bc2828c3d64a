"""Rescan: make the metadata match the disk after edits made on another computer."""
from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from appliance.files.folders import Found
from appliance.files.entry import (
    FILE,
    FOLDER,
    ROOT_ID,
    TRASH_ID,
    Doc,
    is_fresh,
    kind_of,
    moved,
    new_doc,
    with_content,
)
from appliance.files.errors import FilesError
from appliance.files.names import ROOT, check_path, is_junk, join
from appliance.files.nodes import Nodes

logger = logging.getLogger(__name__)
LOGGED_SKIPS = 20  # entries left out that are named in the log, per rescan
Folder = tuple[str, Path, str]  # (path, where it is on disk, document id)
Plan = tuple[Found, Doc | None, str | None, os.stat_result]  # (entry, doc, sha256, stat)


@dataclass(frozen=True)
class RescanReport:
    """What a rescan changed to make the metadata match the disk."""

    added: int = 0    # files and folders recorded (files hashed) for the first time
    updated: int = 0  # files whose content changed on disk, hashed again
    removed: int = 0  # documents whose file or folder is gone
    skipped: int = 0  # entries left out: links, special files, names Hearth can't use


class Rescan:
    """Walks files/ folder by folder; one rescan at a time, beside normal use."""

    def __init__(self, nodes: Nodes) -> None:
        self._nodes = nodes
        self._running = asyncio.Lock()

    async def run(self) -> RescanReport:
        """Reconcile disk and metadata; return the counts."""
        async with self._running:
            return await _Pass(self._nodes).run()


class _Pass:
    """One rescan: the walk, then the documents nothing on disk matched."""

    def __init__(self, nodes: Nodes) -> None:
        self._nodes = nodes
        self._folders = nodes.folders
        self._meta = nodes.meta
        self._seen: set[str] = set()
        self.added = self.updated = self.removed = self.skipped = 0

    async def run(self) -> RescanReport:
        swept = await self._nodes.run("cleaning up unfinished uploads", self._sweep_tmp)
        queue: deque[Folder] = deque([(ROOT, self._folders.files, ROOT_ID)])
        while queue:
            queue.extend(await self._folder(*queue.popleft()))
        await self._vanished()
        report = RescanReport(self.added, self.updated, self.removed, self.skipped)
        logger.info("rescan: %d added, %d updated, %d removed, %d left out, %d unfinished "
                    "uploads cleaned", report.added, report.updated, report.removed,
                    report.skipped, swept)
        return report

    def _sweep_tmp(self) -> int:
        self._folders.prepare()
        return self._folders.sweep()

    async def _folder(self, path: str, real: Path, dir_id: str) -> list[Folder]:
        """Match one folder's entries with their documents; return its subfolders."""
        try:
            listing = await asyncio.to_thread(self._folders.listing, real)
        except OSError as exc:
            logger.warning("rescan could not read %s (%s); its files keep their metadata",
                           path, exc.strerror)
            self._seen.update(d["_id"] for d in self._meta.subtree({"_id": dir_id}))
            return []
        for item in listing.skipped:
            self._skip(item, "a link, a special file, or a name Hearth can't use")
        docs = self._meta.named(dir_id)
        folders: list[Folder] = []
        plans: list[Plan] = []
        unhashed: list[tuple[Found, Doc | None]] = []
        for found in listing.found:
            doc = docs.get(found.name)
            kind = kind_of(found.st)
            hashed = doc is not None and bool(doc.get("sha256")) and is_fresh(doc, found.st)
            if doc is None and is_junk(found.name):
                continue
            if kind == FILE and not hashed:
                unhashed.append((found, doc))
            elif doc is None or doc["type"] != kind or doc["path"] != join(path, found.name):
                plans.append((found, doc, doc.get("sha256") if doc else None, found.st))
            else:
                self._seen.add(doc["_id"])
                if kind == FOLDER:
                    folders.append((doc["path"], found.real, doc["_id"]))
        plans.extend(await self._hash(path, unhashed))
        if plans:
            async with self._nodes.lock:
                folders.extend(await self._apply(path, dir_id, plans))
        return folders

    async def _hash(self, path: str, unhashed: list[tuple[Found, Doc | None]]) -> list[Plan]:
        """Return plans for the files of a folder that need hashing, hashed in one thread."""
        if not unhashed:
            return []
        reals = [found.real for found, _ in unhashed]
        hashes = await self._nodes.run_stoppable(
            f"reading {path}", lambda stop: self._folders.hash_files(reals, stop))
        plans: list[Plan] = []
        for (found, doc), hashed in zip(unhashed, hashes):
            if hashed is None:
                self._skip(found.real, "it can't be read")
                if doc is not None:
                    self._seen.add(doc["_id"])
            else:
                plans.append((found, doc, *hashed))
        return plans

    async def _apply(self, path: str, dir_id: str, plans: list[Plan]) -> list[Folder]:
        """Write what the plans found (locked); skip what a Hearth change made stale."""
        docs = self._meta.named(dir_id)
        writes: list[Doc] = []
        folders: list[Folder] = []
        for found, old, sha, st in plans:
            doc = docs.get(found.name)
            if (doc or {}).get("_rev") == (old or {}).get("_rev"):
                doc = self._updated(join(path, found.name), dir_id, found, old, sha, st)
                if old is not None and old["type"] != doc["type"]:
                    self.removed += await self._meta.forget(old)
                writes.append(doc)
            elif doc is None:
                continue
            # else: changed through Hearth meanwhile, so it is right as it is
            self._seen.add(doc["_id"])
            if doc["type"] == FOLDER:
                folders.append((doc["path"], found.real, doc["_id"]))
        await self._meta.save(writes)
        return folders

    def _updated(self, path: str, dir_id: str, found: Found, old: Doc | None,
                 sha: str | None, st: os.stat_result) -> Doc:
        """Return the document for an entry, counting what changed."""
        kind = kind_of(st) or FOLDER
        if old is None or old["type"] != kind:
            self.added += 1
            return new_doc(path, found.name, dir_id, kind, st, sha256=sha)
        doc = moved(old, path, found.name, dir_id)
        if kind == FOLDER:
            return doc
        if not old.get("sha256"):
            self.added += 1
        elif old["sha256"] != sha or old["size"] != st.st_size:
            self.updated += 1
        else:  # touched, not changed: the content and its dates stay
            return {**doc, "mtime_ns": st.st_mtime_ns}
        return with_content(doc, st, sha, st.st_mtime)

    async def _vanished(self) -> None:
        """Remove documents nothing on disk matched; finish trashings a crash cut short."""
        unseen: list[str] = []

        def see(doc: Doc) -> None:
            if not doc.get("trashed") and doc["_id"] not in self._seen:
                unseen.append(doc["_id"])

        await self._meta.scan(see)
        in_trash = set(await asyncio.to_thread(os.listdir, self._folders.trash))
        for doc_id in unseen:
            async with self._nodes.lock:
                await self._settle(doc_id, in_trash)
        for top in self._meta.trashed():
            if top["_id"] not in in_trash:
                async with self._nodes.lock:  # trashed meanwhile, or really gone?
                    home = self._folders.trash / top["_id"]
                    current = self._meta.get(top["_id"])
                    if current is not None and not await asyncio.to_thread(home.exists):
                        self.removed += await self._meta.forget(current)

    async def _settle(self, doc_id: str, in_trash: set[str]) -> None:
        """Keep, trash or remove one document the walk did not meet (locked)."""
        doc = self._meta.get(doc_id)
        if doc is None or doc.get("trashed"):
            return
        try:
            _, st = await self._nodes.locate(check_path(doc["path"]))
            here = kind_of(st) == doc["type"]
        except FilesError:
            here = False
        if here and (self._meta.live(doc["path"]) or {}).get("_id") == doc_id:
            return  # created meanwhile, or in a folder the walk could not read
        if not here and doc_id in in_trash:
            await self._meta.relocate(doc, doc["path"], doc["name"], TRASH_ID, trashed=True,
                                      trashed_at=self._nodes.clock())
            return
        self.removed += await self._meta.forget(doc)

    def _skip(self, real: Path, why: str) -> None:
        self.skipped += 1
        if self.skipped <= LOGGED_SKIPS:
            logger.warning("rescan left out %s: %s", real, why)
