"""The methods that change one resource: PUT, MKCOL, DELETE and PROPPATCH."""
from __future__ import annotations

import logging

from aiohttp import web

from appliance.files import Conflict, Exists, NotADirectory, NotFound
from services.webdav import preconditions
from services.webdav.davxml import (
    dav,
    element,
    parse,
    propstat,
    read_body,
    reply,
    response,
    to_text,
)
from services.webdav.errors import DavError, bad_request, precondition_failed
from services.webdav.headers import INFINITY, depth
from services.webdav.preconditions import ChangedResource
from services.webdav.properties import PROTECTED
from services.webdav.space import DavSpace
from services.webdav.urls import parent

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024  # what is read from the network at a time: memory stays flat


def no_parent(space: DavSpace, path: str) -> DavError:
    """Return the 409 of a request whose target's folder does not exist."""
    return DavError(409, f"The folder {space.href(parent(path), collection=True)} doesn't "
                         "exist (or is a file): create it first.")


async def put(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Save the request body as a file, streamed to the disk; 201 if new, 204 if replaced."""
    if "Content-Range" in request.headers:
        raise bad_request("Partial PUT (Content-Range) is not supported: send the whole file.")
    entry = await space.find(path)
    if entry is not None and entry.is_dir:
        raise DavError(405, f"{space.href_of(entry)} is a folder: a file can't replace it. "
                            "Pick another name.")
    await preconditions.check(space, request, path, entry,
                              [ChangedResource(path, membership=entry is None)])
    create_only = request.headers.get("If-None-Match", "").strip() == "*"
    if_match = entry.etag if entry is not None and "If-Match" in request.headers else None
    try:
        saved = await space.tree.write(path, request.content.iter_chunked(CHUNK),
                                       overwrite=not create_only, if_match=if_match)
    except (NotFound, NotADirectory):
        raise no_parent(space, path) from None
    except (Exists, Conflict):
        raise precondition_failed(f"{space.href(path)} changed while it was being sent; "
                                  "nothing was replaced. Try again.") from None
    logger.debug("saved %s (%d bytes)", path, saved.size)
    return web.Response(status=201 if entry is None else 204, headers={"ETag": saved.etag})


async def mkcol(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Create a folder: 409 if its parent is missing, 405 if the name is taken."""
    if request.body_exists:
        raise DavError(415, "MKCOL with a body is not supported: send it without one.")
    if path == "/" or await space.find(path) is not None:
        raise DavError(405, f"{space.href(path)} already exists; pick another name.")
    await preconditions.check(space, request, path, None, [ChangedResource(path, membership=True)])
    try:
        await space.tree.mkdir(path)
    except (NotFound, NotADirectory):
        raise no_parent(space, path) from None
    except Exists:
        raise DavError(405, f"{space.href(path)} already exists; pick another name.") from None
    return web.Response(status=201)


async def delete(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Put a file or folder in the Drive's trash (restorable there); its locks and props go."""
    if path == "/":
        raise DavError(403, "The Drive itself can't be deleted; delete what is inside.")
    entry = await space.need(path)
    if entry.is_dir:
        depth(request.headers, default=INFINITY, allowed=(INFINITY,))
    await preconditions.check(space, request, path, entry,
                              [ChangedResource(path, membership=True, deep=entry.is_dir)])
    ids = await space.subtree_ids(entry)
    await space.tree.trash(path)
    space.locks.forget(path)
    await space.props.drop(ids.values())
    return web.Response(status=204)


async def proppatch(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Set and remove dead properties, all or none (RFC 4918 §9.2)."""
    entry = await space.need(path)
    await preconditions.check(space, request, path, entry, [ChangedResource(path)])
    root = parse(await read_body(request))
    if root.tag != dav("propertyupdate"):
        raise bad_request("A PROPPATCH body must be a DAV:propertyupdate element.")
    ops: list[tuple[str, str | None]] = []
    for action in root:
        if action.tag not in (dav("set"), dav("remove")):
            continue  # unknown elements are ignored, as RFC 4918 asks
        props = action.find(dav("prop"))
        if props is None:
            raise bad_request("Each DAV:set and DAV:remove needs a DAV:prop.")
        ops.extend((node.tag, to_text(node) if action.tag == dav("set") else None)
                   for node in props)
    if not ops:
        raise bad_request("The PROPPATCH sets and removes nothing.")
    names = list(dict.fromkeys(name for name, _ in ops))
    refused = [name for name in names if name in PROTECTED]
    if refused:
        # Nothing is changed: the protected ones are 403, the rest failed with them (424).
        parts = [propstat((element(n) for n in refused), 403),
                 propstat((element(n) for n in names if n not in refused), 424)]
        return reply(element(dav("multistatus"), response(
            space.href_of(entry), *(p for p in parts if len(p[0]))))
        )
    await space.props.change(entry.id, ops)
    return reply(element(dav("multistatus"), response(
        space.href_of(entry), propstat((element(n) for n in names), 200))))
