"""What a visitor's link reaches now: the shared item, followed across moves, and inside it."""
from __future__ import annotations

import logging

from appliance.files import DOCTYPE, FileEntry, FileTree
from appliance.files.errors import FilesError
from appliance.files.names import check_path, is_within
from appliance.store import Collection
from appliance.i18n import N_
from services.sharing.links import Doc
from services.sharing.pages import day

logger = logging.getLogger(__name__)

FILES_DOCTYPE = DOCTYPE  # the file tree's documents, read to follow an item by id


class Unreachable(Exception):
    """A visitor can't have what a link asked for; the message (an N_ msgid) says why."""

    def __init__(self, status: int, message: str, **params: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.params = params


REVOKED = N_("This link does not work: it was turned off by the person who shared it, "
             "or its address is incomplete. Ask them for a new link.")
EXPIRED = N_("This link expired on %(date)s. Ask the person who shared it for a new link.")
GONE = N_("%(name)s is no longer shared: it was deleted or put in the trash. "
          "Ask the person who shared it if they still have it.")
NOTHING_THERE = N_("There is nothing by that name in what was shared with you.")


def check_open(link: Doc | None, now: float) -> Doc:
    """Return the link if it may be used now; raise Unreachable (404 or 410) if not."""
    if link is None:
        raise Unreachable(404, REVOKED)
    if link["expires_at"] is not None and now > link["expires_at"]:
        raise Unreachable(410, EXPIRED, date=day(link["expires_at"]))
    return link


async def shared_item(tree: FileTree, files: Collection, link: Doc) -> FileEntry:
    """Return the file or folder a link shares, where it is now (410 if it is gone).

    The item is found by its id, which a move or a rename keeps, never by its old
    path: something new put where a deleted item was is not what was shared.
    """
    meta = files.get(link["file_id"])
    if meta is None or meta.get("trashed"):
        raise Unreachable(410, GONE, name=link["name"])
    try:
        entry = await tree.stat(meta["path"])
    except FilesError:
        raise Unreachable(410, GONE, name=link["name"]) from None
    if entry.id != link["file_id"] or entry.trashed or entry.type != link["type"]:
        raise Unreachable(410, GONE, name=link["name"])
    return entry


async def inside(tree: FileTree, root: FileEntry, sub: str) -> FileEntry:
    """Return the item at `sub` ("2024/cat.jpg") inside a shared folder; 404 if not there.

    `..`, `.` and backslashes, however encoded, are refused by check_path, and
    the result is checked to lie within the shared folder all the same.
    """
    if not root.is_dir:
        raise Unreachable(404, NOTHING_THERE)
    try:
        relative = check_path(sub)
    except FilesError:
        raise Unreachable(404, NOTHING_THERE) from None
    path = root.path.rstrip("/") + relative if relative != "/" else root.path
    if not is_within(path, root.path):
        raise Unreachable(404, NOTHING_THERE)
    try:
        entry = await tree.stat(path)
    except FilesError:
        raise Unreachable(404, NOTHING_THERE) from None
    if entry.trashed:
        raise Unreachable(404, NOTHING_THERE)
    return entry


def relative_to(root: FileEntry, entry: FileEntry) -> str:
    """Return an item's path inside a shared folder ("" for the folder itself)."""
    return entry.path[len(root.path):].lstrip("/")
