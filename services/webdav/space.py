"""The WebDAV view of the Drive: URLs, entries, locks and dead properties of one box."""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable

from aiohttp import web

from appliance.web.guard import identity
from appliance.files import FileEntry, FileTree, NotADirectory, NotFound
from appliance.files.entry import Fetched
from appliance.memo import Memo
from appliance.store import Collection
from services.webdav import urls
from services.webdav.deadprops import DeadProperties
from services.webdav.errors import DavError, bad_request
from services.webdav.locks import LockTable
from services.webdav.properties import Usage

logger = logging.getLogger(__name__)

USAGE_SECONDS = 30.0  # the Finder asks for the quota with every folder it opens
# Files up to this size are read in the thread that finds them and sent from memory:
# thumbnails, notes, sync clients' small files (sendfile pays off for larger ones).
SMALL_FILE = 64 * 1024
FRAGMENTS = 4096  # kept DAV:responses of about 0.5 KiB: a few big folders, a couple of MiB


class DavSpace:
    """Everything the handlers share: built once per app, nothing done at construction."""

    def __init__(self, drive: Callable[[], FileTree], props: Callable[[], Collection],
                 prefix: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._drive = drive
        self.prefix = prefix
        self.locks = LockTable(clock)  # locks expire by this clock (the service's own)
        self.props = DeadProperties(props)
        # The DAV:response of each resource, kept by (question asked, whole FileEntry):
        # sync clients list the same folders again and again, and writing the XML
        # was two thirds of a PROPFIND. Any change to a file changes its entry.
        self.fragments: Memo[tuple[Hashable, FileEntry], str] = Memo(FRAGMENTS)
        self._usage: tuple[float, Usage] | None = None

    @property
    def tree(self) -> FileTree:
        """Return the Drive's file tree (it follows the data disk)."""
        return self._drive()

    def path_of(self, request: web.Request) -> str:
        """Return the Drive path a request is about."""
        if request.url.fragment or "#" in request.raw_path:
            raise bad_request("The URL has a #fragment, which names no resource; "
                              "send the request without it.")
        return urls.to_path(request.rel_url.raw_path, self.prefix)

    def url_path(self, url: str, request: web.Request) -> str:
        """Return the Drive path an absolute URL or path names (Destination, If tags)."""
        return urls.from_url(url, scheme=request.scheme, host=request.host, prefix=self.prefix)

    def destination(self, request: web.Request) -> str:
        """Return the Drive path of the Destination header of COPY and MOVE."""
        raw = request.headers.get("Destination")
        if not raw:
            raise bad_request("COPY and MOVE need a Destination header (the URL to copy "
                              "or move to).")
        return self.url_path(raw, request)

    def href(self, path: str, *, collection: bool = False) -> str:
        """Return the URL path of a Drive path, as hrefs in answers show it."""
        return urls.to_href(path, self.prefix, collection=collection)

    def href_of(self, entry: FileEntry) -> str:
        """Return the URL path of an entry (a folder's ends with /)."""
        return self.href(entry.path, collection=entry.is_dir)

    @staticmethod
    def principal(request: web.Request) -> str:
        """Return who is asking, for lock ownership: a device, or the owner's browser."""
        who = identity(request)
        if who is not None and who.device is not None:
            return f"device:{who.device.id}"
        return "owner"

    async def find(self, path: str) -> FileEntry | None:
        """Return what is at path, or None if nothing is (or a file is in the way)."""
        try:
            return await self.tree.stat(path)
        except (NotFound, NotADirectory):
            return None

    async def need(self, path: str) -> FileEntry:
        """Return what is at path, or a 404 that says so."""
        entry = await self.find(path)
        if entry is None:
            raise self._missing(path)
        return entry

    async def fetch(self, path: str) -> Fetched:
        """Return what is at path with a small file's content (one thread trip), or a 404."""
        try:
            return await self.tree.fetch(path, SMALL_FILE)
        except (NotFound, NotADirectory):
            raise self._missing(path) from None

    def _missing(self, path: str) -> DavError:
        return DavError(404, f"Nothing is at {self.href(path)}: it may have been moved or "
                             "deleted; refresh the folder.")

    async def usage(self) -> Usage:
        """Return the quota figures, measured at most every USAGE_SECONDS."""
        now = time.monotonic()
        if self._usage is None or now - self._usage[0] > USAGE_SECONDS:
            used, free, _ = await self.tree.usage()
            self._usage = (now, Usage(used, free))
        return self._usage[1]

    async def walk(self, entry: FileEntry) -> AsyncIterator[FileEntry]:
        """Yield an entry and, for a folder, everything beneath it."""
        yield entry
        if entry.is_dir:
            for child in await self.tree.list(entry.path):
                async for found in self.walk(child):
                    yield found

    async def subtree_ids(self, entry: FileEntry | None) -> dict[str, str]:
        """Return {path relative to entry: id} of everything beneath it, if props need it.

        The walk only happens when some resource has dead properties at all.
        """
        if entry is None or not self.props.any():
            return {}
        found = {}
        async for item in self.walk(entry):
            found[item.path[len(entry.path):]] = item.id
        return found
