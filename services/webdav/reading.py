"""The methods that read: OPTIONS, PROPFIND, GET and HEAD."""
from __future__ import annotations

import html
import logging
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from aiohttp import hdrs, web

from appliance.files import FileEntry
from services.webdav import preconditions
from services.webdav.davxml import dav, parse, read_body
from services.webdav.download import Download, range_applies, small
from services.webdav.errors import DavError, bad_request
from services.webdav.headers import INFINITY, depth
from services.webdav.properties import (
    PROTECTED,
    QUOTA,
    LiveProperties,
    Usage,
    activelock,
    empty,
)
from services.webdav.space import DavSpace

logger = logging.getLogger(__name__)

METHODS = ("OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL",
           "COPY", "MOVE", "LOCK", "UNLOCK")
_PROLOGUE = '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">'
_OK = "<D:status>HTTP/1.1 200 OK</D:status>"
_MISSING = "<D:status>HTTP/1.1 404 Not Found</D:status>"
_LOCKDISCOVERY = dav("lockdiscovery")
DAV_HEADERS = {"DAV": "1, 2", "MS-Author-Via": "DAV", "Allow": ", ".join(METHODS),
               "Accept-Ranges": "bytes"}


async def options(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Say which methods and WebDAV classes are spoken here."""
    return web.Response(status=200, headers=DAV_HEADERS)


def _wanted(body: bytes) -> tuple[str, list[str]]:
    """Return what a PROPFIND asks for: ("allprop" | "propname" | "prop", names)."""
    if not body.strip():
        return "allprop", []
    root = parse(body)
    if root.tag != dav("propfind"):
        raise bad_request("A PROPFIND body must be a DAV:propfind element.")
    mode = ""
    names: list[str] = []
    for child in root:
        if child.tag in (dav("allprop"), dav("propname"), dav("prop")):
            if mode:
                raise bad_request("A PROPFIND asks for one of allprop, propname or prop.")
            mode = child.tag[len("{DAV:}"):]
        if child.tag in (dav("prop"), dav("include")):
            names.extend(node.tag for node in child)
    if not mode:
        raise bad_request("A PROPFIND body needs DAV:allprop, DAV:propname or DAV:prop.")
    return mode, names


class _Describer:
    """Write the DAV:response of each resource a PROPFIND covers, as XML text."""

    def __init__(self, space: DavSpace, mode: str, names: list[str], usage: Usage | None):
        self._space, self._mode, self._names = space, mode, names
        self._dead = space.props.any()
        self._live = LiveProperties(self._lockdiscovery, usage)
        self._question = (mode, tuple(names))
        # Kept fragments hold no quota figures and no locks: those change by themselves.
        asks_locks = mode == "allprop" or (mode == "prop" and _LOCKDISCOVERY in names)
        self._kept = space.fragments if usage is None and not (
            asks_locks and space.locks.active()) else None

    def _lockdiscovery(self, path: str) -> list[ET.Element]:
        locks = self._space.locks
        return [activelock(lock, self._space.href, locks.remaining(lock))
                for lock in locks.covering(path)]

    def describe(self, entry: FileEntry) -> str:
        """Return the DAV:response of one resource."""
        dead = self._space.props.get(entry.id) if self._dead else {}
        if dead or self._kept is None:
            return self._write(entry, dead)
        return self._kept.get((self._question, entry), self._write, entry)

    def _write(self, entry: FileEntry, dead: dict[str, str] | None = None) -> str:
        dead = dead or {}
        found: list[str] = []
        missing: list[str] = []
        if self._mode == "propname":
            found = [empty(name) for name in (*self._live.names(entry), *dead)]
        else:
            wanted = self._names
            if self._mode == "allprop":
                wanted = [*self._live.names(entry), *dead,
                          *(n for n in self._names if n not in dead)]
            for name in dict.fromkeys(wanted):
                text = self._live.text(name, entry) if name in PROTECTED else dead.get(name)
                if text is None:
                    missing.append(empty(name))
                else:
                    found.append(text)
        parts = [f"<D:response><D:href>{escape(self._space.href_of(entry))}</D:href>"]
        for props, status in ((found, _OK), (missing, _MISSING)):
            if props or (status is _OK and not missing):
                parts.append(f"<D:propstat><D:prop>{''.join(props)}</D:prop>{status}"
                             "</D:propstat>")
        parts.append("</D:response>")
        return "".join(parts)


async def propfind(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Describe a resource, and the members of a folder at Depth 1."""
    level = depth(request.headers, default=INFINITY, allowed=(0, 1, INFINITY))
    if level == INFINITY:
        raise DavError(403, "PROPFIND with Depth: infinity (or no Depth header) is refused: "
                            "it could walk the whole Drive. Ask with Depth: 1, folder by "
                            "folder.", condition="propfind-finite-depth")
    mode, names = _wanted(await read_body(request))
    entry = await space.need(path)
    await preconditions.check(space, request, path, entry)
    entries = [entry]
    if level == 1 and entry.is_dir:
        entries += await space.tree.list(path)
    usage = await space.usage() if any(name in QUOTA for name in names) else None
    describer = _Describer(space, mode, names, usage)
    body = "".join((_PROLOGUE, *(describer.describe(e) for e in entries), "</D:multistatus>"))
    return web.Response(status=207, body=body.encode("utf-8"), charset="utf-8",
                        content_type="application/xml")


def _listing(space: DavSpace, entry: FileEntry, children: list[FileEntry]) -> web.Response:
    rows = "".join(
        f'<li><a href="{html.escape(space.href_of(child))}">'
        f'{html.escape(child.name)}{"/" if child.is_dir else ""}</a></li>'
        for child in children)
    title = html.escape(entry.path)
    return web.Response(text=f"<!doctype html><meta charset=utf-8><title>{title}</title>"
                             f"<h1>{title}</h1><ul>{rows}</ul>",
                        content_type="text/html", headers={"ETag": entry.etag})


async def get(space: DavSpace, request: web.Request, path: str) -> web.StreamResponse:
    """Send a file (ranges, conditional requests), or a plain list of a folder's members."""
    entry, real, st, content = await space.fetch(path)
    if await preconditions.check(space, request, path, entry, reading=True):
        return web.Response(status=304, headers={"ETag": entry.etag})
    if entry.is_dir:
        return _listing(space, entry, await space.tree.list(path))
    ranged = range_applies(request, entry)
    if content is not None and not (ranged and hdrs.RANGE in request.headers):
        return small(entry, st, content)
    return Download(real, entry, ranged=ranged)
