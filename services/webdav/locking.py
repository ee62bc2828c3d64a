"""LOCK and UNLOCK (RFC 4918 §9.10–9.11): new locks, refreshes, and locking unmapped URLs."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

from aiohttp import web

from appliance.files import Exists, NotADirectory, NotFound
from services.webdav import preconditions
from services.webdav.davxml import dav, element, parse, read_body, reply, to_text
from services.webdav.errors import DavError, bad_request, precondition_failed
from services.webdav.headers import INFINITY, depth, timeout
from services.webdav.locks import Lock
from services.webdav.preconditions import ChangedResource
from services.webdav.properties import activelock
from services.webdav.space import DavSpace
from services.webdav.writing import no_parent

logger = logging.getLogger(__name__)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing: the empty file of a new lock


def _discovery(space: DavSpace, lock: Lock, code: int, *, new: bool) -> web.Response:
    body = element(dav("prop"), element(dav("lockdiscovery"), activelock(
        lock, space.href, space.locks.remaining(lock))))
    return reply(body, code, headers={"Lock-Token": f"<{lock.token}>"} if new else None)


def _scope(info: ET.Element) -> bool:
    """Return whether a DAV:lockinfo asks for an exclusive lock (else shared)."""
    scope = info.find(dav("lockscope"))
    kinds = {child.tag for child in scope} if scope is not None else set()
    kind = info.find(dav("locktype"))
    if kind is None or kind.find(dav("write")) is None:
        raise bad_request("Only write locks exist (DAV:locktype must be DAV:write).")
    if kinds == {dav("exclusive")}:
        return True
    if kinds == {dav("shared")}:
        return False
    raise bad_request("DAV:lockscope must be DAV:exclusive or DAV:shared.")


async def lock(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Take a write lock (creating an empty file at an unmapped URL), or refresh one."""
    body = await read_body(request)
    if not body.strip():
        return await _refresh(space, request, path)
    entry = await space.find(path)
    info = parse(body)
    if info.tag != dav("lockinfo"):
        raise bad_request("A LOCK body must be a DAV:lockinfo element.")
    exclusive = _scope(info)
    owner = info.find(dav("owner"))
    level = depth(request.headers, default=INFINITY, allowed=(0, INFINITY))
    await preconditions.check(space, request, path, entry,
                              [ChangedResource(path, membership=True)] if entry is None else [])
    clash = space.locks.conflicts(path, level, exclusive)
    if clash:
        raise DavError(423, f"{space.href(clash[0].root)} is already locked by another "
                            "client; wait until it lets go, or until its lock expires "
                            f"(in {space.locks.remaining(clash[0])} s).",
                       condition="no-conflicting-lock", href=space.href(clash[0].root))
    created = False
    if entry is None:
        try:
            await space.tree.write(path, _nothing(), overwrite=False)
            created = True
        except (NotFound, NotADirectory):
            raise no_parent(space, path) from None
        except Exists:
            pass  # made meanwhile by another request: lock it as it is
    new = space.locks.add(path, depth=level, exclusive=exclusive,
                          owner=to_text(owner) if owner is not None else None,
                          principal=space.principal(request), timeout=timeout(request.headers),
                          collection=entry is not None and entry.is_dir)
    return _discovery(space, new, 201 if created else 200, new=True)


async def _refresh(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    if "If" not in request.headers:
        raise bad_request("A LOCK without a body refreshes a lock: send its token in an "
                          "If header, like If: (<opaquelocktoken:…>).")
    entry = await space.find(path)
    tokens = await preconditions.if_header(space, request, path, entry)
    mine = [found for found in space.locks.covering(path) if found.token in tokens]
    if not mine:
        raise precondition_failed("No lock of yours covers this resource: it expired or was "
                                  "removed. Take a new lock.")
    for held in mine:
        space.locks.refresh(held, timeout(request.headers))
    return _discovery(space, mine[0], 200, new=False)


async def unlock(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Remove a lock, given its token in the Lock-Token header."""
    raw = request.headers.get("Lock-Token", "").strip()
    if not (raw.startswith("<") and raw.endswith(">")):
        raise bad_request("UNLOCK needs the lock's token: Lock-Token: <opaquelocktoken:…>.")
    held = space.locks.get(raw[1:-1])
    if held is None or not held.covers(path):
        raise DavError(409, "No such lock covers this resource (it may have expired).",
                       condition="lock-token-matches-request-uri")
    if held.principal != space.principal(request):
        raise DavError(403, "This lock was taken by another device; only it can remove it "
                            "(or wait for it to expire).")
    space.locks.remove(held.token)
    return web.Response(status=204)
