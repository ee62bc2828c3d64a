"""Whether a request may go ahead: the If header, HTTP's conditional headers, and locks."""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from appliance.files import FileEntry
from services.webdav.conditions import State, parse_if
from services.webdav.errors import DavError, locked, precondition_failed
from services.webdav.locks import Lock
from services.webdav.space import DavSpace
from services.webdav.urls import parent

logger = logging.getLogger(__name__)

_ETAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


@dataclass(frozen=True)
class ChangedResource:
    """A resource a request changes.

    `membership`: it is created or removed, which changes its folder too (a lock
    on the folder protects the folder's list of members). `deep`: a folder is
    removed or replaced with everything in it, so locks beneath it count.
    """

    path: str
    membership: bool = False
    deep: bool = False


async def check(space: DavSpace, request: web.Request, path: str, entry: FileEntry | None,
                changes: Sequence[ChangedResource] = (), *, reading: bool = False) -> bool:
    """Raise 412 or 423 unless the request may go ahead; return True for 304 Not Modified."""
    submitted = await if_header(space, request, path, entry)
    not_modified = _http(request, entry, reading=reading)
    for change in changes:
        _unlocked(space, submitted, change)
    return not_modified


async def if_header(space: DavSpace, request: web.Request, path: str,
                     entry: FileEntry | None) -> frozenset[str]:
    """Check the If header; return the lock tokens it submits that this client holds."""
    raw = request.headers.get("If")
    if raw is None:
        return frozenset()
    header = parse_if(raw)
    states: dict[str | None, State] = {None: _state(space, path, entry)}
    for tag in header.tags():
        try:
            tagged = space.url_path(tag, request)
        except DavError:
            states[tag] = State(None, frozenset())  # another server's resource: no state here
            continue
        found = entry if tagged == path else await space.find(tagged)
        states[tag] = _state(space, tagged, found)
    if not header.holds(states.__getitem__):
        raise precondition_failed("The If header's conditions don't hold: the lock expired "
                                  "or the file changed since the client last saw it.")
    principal = space.principal(request)
    held = (space.locks.get(token) for token in header.tokens())
    return frozenset(lock.token for lock in held
                     if lock is not None and lock.principal == principal)


def _state(space: DavSpace, path: str, entry: FileEntry | None) -> State:
    tokens = frozenset(lock.token for lock in space.locks.covering(path))
    return State(entry.etag if entry is not None else None, tokens)


def _unlocked(space: DavSpace, submitted: frozenset[str], change: ChangedResource) -> None:
    """Raise 423 unless a token of every lock group that protects the change was sent."""
    groups: list[list[Lock]] = [space.locks.covering(change.path)]
    if change.membership and change.path != "/":
        folder = parent(change.path)
        groups.append([lock for lock in space.locks.covering(folder) if lock.root == folder])
    if change.deep:
        by_root: dict[str, list[Lock]] = {}
        for lock in space.locks.beneath(change.path):
            by_root.setdefault(lock.root, []).append(lock)
        groups.extend(by_root.values())
    for group in groups:
        if group and not any(lock.token in submitted for lock in group):
            raise locked(space.href(group[0].root, collection=group[0].collection))


def _matches(header: str, etag: str, *, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    pos, bare = 0, etag.removeprefix("W/")
    while pos < len(header):
        found = _ETAG.match(header, pos)
        if found is None:
            return False  # unreadable: matches nothing
        if found.group(2) == bare and (weak or not found.group(1)):
            return True
        pos = found.end()
    return False


def _http(request: web.Request, entry: FileEntry | None, *, reading: bool) -> bool:
    """Check If-Match, If-None-Match, If-Unmodified-Since, If-Modified-Since (RFC 9110 §13.2)."""
    etag = entry.etag if entry is not None else None
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        if etag is None or not _matches(if_match, etag, weak=False):
            raise precondition_failed("If-Match failed: the file changed since the client "
                                      "last saw it (or is gone).")
    elif entry is not None and (since := request.if_unmodified_since) is not None \
            and int(entry.updated_at) > since.timestamp():
        raise precondition_failed("If-Unmodified-Since failed: the file changed since.")
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if etag is not None and _matches(if_none_match, etag, weak=True):
            if reading:
                return True
            raise precondition_failed("If-None-Match failed: something is already there.")
    elif reading and entry is not None and (since := request.if_modified_since) is not None:
        return int(entry.updated_at) <= since.timestamp()
    return False
