"""COPY and MOVE (RFC 4918 §9.8–9.9): Destination, Overwrite, Depth, and dead properties."""
from __future__ import annotations

import logging

from aiohttp import web

from appliance.files import Exists, FileEntry, NotADirectory, NotFound
from services.webdav import preconditions
from services.webdav.errors import DavError, precondition_failed
from services.webdav.headers import INFINITY, depth, overwrite
from services.webdav.preconditions import ChangedResource
from services.webdav.space import DavSpace
from services.webdav.urls import is_within
from services.webdav.writing import no_parent

logger = logging.getLogger(__name__)


async def _prepare(space: DavSpace, request: web.Request, src: str, *, moving: bool
                   ) -> tuple[FileEntry, str, FileEntry | None, int]:
    """Return the source, destination path, what is there now, and the depth; or refuse."""
    entry = await space.need(src)
    dst = space.destination(request)
    level = depth(request.headers, default=INFINITY,
                  allowed=(INFINITY,) if moving and entry.is_dir else (0, INFINITY))
    verb = "moved" if moving else "copied"
    if src == "/" or dst == "/":
        raise DavError(403, f"The Drive itself can't be {verb} or replaced.")
    if dst == src:
        raise DavError(403, f"The source and the destination are the same ({request.path}); "
                            "pick another destination.")
    if is_within(dst, src):
        raise DavError(403, f"A folder can't be {verb} into itself; pick a destination "
                            "outside it.")
    existing = await space.find(dst)
    if existing is not None and existing.id == entry.id:
        existing = None  # a change of case on a disk that ignores case (exFAT, NTFS)
    changes = [ChangedResource(dst, membership=existing is None, deep=existing is not None)]
    if moving:
        changes.append(ChangedResource(src, membership=True, deep=entry.is_dir))
    await preconditions.check(space, request, src, entry, changes)
    if existing is not None and not overwrite(request.headers):
        raise precondition_failed(f"{space.href_of(existing)} already exists and the request "
                                  "says not to overwrite it (Overwrite: F).")
    return entry, dst, existing, level


async def copy(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Copy a file or folder (only the folder itself at Depth 0), with its dead properties."""
    entry, dst, existing, level = await _prepare(space, request, path, moving=False)
    replaced = await space.subtree_ids(existing)
    sources = await space.subtree_ids(entry)
    try:
        shallow = entry.is_dir and level == 0
        # The tree replaces a file by a file or a folder by a copied folder itself; a
        # file replacing a folder, or a shallow copy, needs the destination gone first.
        first = existing is not None and (shallow or existing.is_dir and not entry.is_dir)
        if first:
            await space.tree.delete(dst)
        if shallow:
            copied = await space.tree.mkdir(dst)
        else:
            copied = await space.tree.copy(path, dst, overwrite=existing is not None and
                                           not first)
    except (NotFound, NotADirectory):
        raise no_parent(space, dst) from None
    except Exists:
        raise precondition_failed(f"{space.href(dst)} appeared meanwhile; try again.") from None
    if existing is not None:
        space.locks.forget(dst)
        await space.props.drop(replaced.values())
    if sources:
        made = await space.subtree_ids(copied) if level == INFINITY else {"": copied.id}
        await space.props.copy((sources[rel], made[rel]) for rel in made if rel in sources)
    return web.Response(status=201 if existing is None else 204)


async def move(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Move or rename; dead properties follow (they are keyed by file id), locks stay behind."""
    _, dst, existing, _ = await _prepare(space, request, path, moving=True)
    replaced = await space.subtree_ids(existing)
    try:
        await space.tree.move(path, dst, overwrite=existing is not None)
    except (NotFound, NotADirectory):
        raise no_parent(space, dst) from None
    except Exists:
        raise precondition_failed(f"{space.href(dst)} appeared meanwhile; try again.") from None
    space.locks.forget(path)
    if existing is not None:
        space.locks.forget(dst)
        await space.props.drop(replaced.values())
    return web.Response(status=201 if existing is None else 204)
