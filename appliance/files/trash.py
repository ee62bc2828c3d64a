"""The trash: items put aside in <data>/trash/<id>/<name>, outside the folder a PC shows."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from appliance.files.entry import FOLDER, TRASH_ID, Doc, FileEntry, entry_of
from appliance.files.errors import NotFound
from appliance.files.names import join, numbered, split
from appliance.files.nodes import Nodes, refuse_root
from appliance.files.tasks import settled

logger = logging.getLogger(__name__)


class Trash:
    """Put items in the trash, list them, restore them, or delete them for good.

    An item's document stays, marked trashed (and its descendants' too), with
    dir_id "trash" and the path it came from; its content moves to trash/<id>/.
    """

    def __init__(self, nodes: Nodes) -> None:
        self._nodes = nodes
        self._folders = nodes.folders
        self._meta = nodes.meta

    @settled
    async def put(self, path: str) -> FileEntry:
        """Move a file or folder to the trash; return it as the trash shows it."""
        refuse_root(path, "put in the trash")
        async with self._nodes.lock:
            real, st = await self._nodes.locate(path)
            doc = await self._nodes.adopt(path, st)
            await self._nodes.run(f"putting {path} in the trash", self._stash, real, doc["_id"])
            saved = await self._meta.relocate(doc, path, doc["name"], TRASH_ID, trashed=True,
                                              trashed_at=self._nodes.clock())
        logger.info("put %s in the trash", path)
        return entry_of(saved)

    def items(self) -> list[FileEntry]:
        """Return the items in the trash, most recently trashed first."""
        return [entry_of(doc) for doc in self._meta.trashed()]

    @settled
    async def restore(self, entry_id: str) -> FileEntry:
        """Move an item back to where it came from, renamed "x (2)" if that name is taken."""
        async with self._nodes.lock:
            doc = self._item(entry_id)
            home = self._folders.trash / doc["_id"]
            real, st = await self._nodes.run("reading the trash", self._folders.child, home,
                                             doc["name"])
            if st is None:
                await self._meta.forget(doc)
                raise NotFound(f"{doc['name']!r} can't be restored: its content is no longer "
                               "in the trash folder")
            parent, name = split(doc["path"])
            dir_id, parent_real = await self._nodes.makedirs(parent)
            target, number = name, 1
            while True:
                dst, taken = await self._nodes.run("reading the folder", self._folders.child,
                                                   parent_real, target)
                if taken is None and self._meta.live(join(parent, target)) is None:
                    break
                number += 1
                target = numbered(name, number, folder=doc["type"] == FOLDER)
            path = join(parent, target)
            new_st = await self._nodes.run(f"restoring {path}", self._unstash, real, dst, home)
            saved = await self._meta.relocate(doc, path, target, dir_id, trashed=False,
                                              trashed_at=None)
        logger.info("restored %s", path)
        return entry_of(saved, new_st)

    @settled
    async def purge(self, entry_id: str) -> None:
        """Delete one item of the trash for good."""
        async with self._nodes.lock:
            doc = self._item(entry_id)
            gone = await self._nodes.run("emptying the trash", self._discard,
                                         self._folders.trash / doc["_id"])
            await self._meta.forget(doc)
        await self._nodes.remove(gone)

    @settled
    async def empty(self) -> int:
        """Delete everything in the trash for good; return how many items went."""
        async with self._nodes.lock:
            tops = self._meta.trashed()
            docs = [d for top in tops for d in (top, *self._meta.subtree(top))]
            gone, names = await self._nodes.run("emptying the trash", self._clear)
            await self._meta.drop(docs)
        await self._nodes.remove(gone)
        count = len({doc["_id"] for doc in tops} | set(names))
        logger.info("emptied the trash (%d items)", count)
        return count

    def _item(self, entry_id: str) -> Doc:
        doc = self._meta.get(entry_id) if isinstance(entry_id, str) else None
        if doc is None or doc.get("dir_id") != TRASH_ID:
            raise NotFound("that item is not in the trash (restored or deleted meanwhile?); "
                           "reload the trash")
        return doc

    def _stash(self, real: Path, doc_id: str) -> None:
        home = self._folders.trash / doc_id
        if not home.is_dir():
            self._folders.mkdir(home)
        self._folders.rename(real, home / real.name)

    def _unstash(self, real: Path, dst: Path, home: Path) -> os.stat_result:
        st = self._folders.rename(real, dst)
        try:
            os.rmdir(home)
        except OSError:
            logger.warning("could not remove the emptied trash folder %s", home)
        return st

    def _discard(self, home: Path) -> Path | None:
        return self._folders.discard(home) if home.exists() else None

    def _clear(self) -> tuple[Path, list[str]]:
        """Move the whole trash folder out of sight and start an empty one."""
        names = os.listdir(self._folders.trash)
        gone = self._folders.discard(self._folders.trash)
        self._folders.mkdir(self._folders.trash)
        return gone, names
