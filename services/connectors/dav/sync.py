"""One collection's incremental sync: what changed since the last run, sent as records."""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from appliance.jobs.connector import Context
from services.connectors.dav import CONTACTS, EVENTS, records
from services.connectors.dav.client import BATCH, Dav, DavCollection, InvalidToken

DOCTYPE = {"contacts": CONTACTS, "events": EVENTS}

# The session keeps, per collection URL, {"token": the sync-token, or "etags":
# {name: short hash of its ETag} on a server without sync-collection, and
# "overrides": {name: [RECURRENCE-IDs]} for events that have some}. Names are
# relative to the collection and hashes short: a session line holds 256 KiB.


def _short(etag: str) -> str:
    return hashlib.sha256(etag.encode()).hexdigest()[:12]


async def _listing(dav: Dav, coll: DavCollection, state: dict[str, Any]
                   ) -> dict[str, str | None]:
    """Return href → ETag of what changed since the last run (None: deleted)."""
    if coll.sync_token:
        token = state.get("token", "")
        try:
            changed, state["token"] = await dav.changes(coll, token)
            return changed
        except InvalidToken:
            if not token:
                raise
        # The server forgot our token: list everything again (deletions made meanwhile
        # can't be known then; what is there is brought up to date).
        changed, state["token"] = await dav.changes(coll, "")
        return changed
    known: dict[str, str] = state.setdefault("etags", {})
    present = {_name(coll, href): etag for href, etag in (await dav.etags(coll)).items()}
    listed: dict[str, str | None] = {
        dav_href(coll, name): etag for name, etag in present.items()
        if not etag or known.get(name) != _short(etag)}
    listed.update({dav_href(coll, name): None for name in known if name not in present})
    return listed


async def sync(ctx: Context, dav: Dav, coll: DavCollection, state: dict[str, Any]
               ) -> dict[str, int]:
    """Bring one collection up to date and update its `state`; return counts for the log."""
    try:
        changed = await _listing(dav, coll, state)
    except InvalidToken:
        coll.sync_token = ""  # it says it has tokens but refuses sync-collection: use ETags
        changed = await _listing(dav, coll, state)
    overrides: dict[str, list[str]] = state.setdefault("overrides", {})
    etags: dict[str, str] | None = state.get("etags") if not coll.sync_token else None
    counts = {"changed": 0, "deleted": 0}
    items = sorted(changed.items())
    for start in range(0, len(items), BATCH):  # a batch at a time: photos can be big
        batch = items[start:start + BATCH]
        fetched = await dav.fetch(coll, [href for href, etag in batch if etag is not None])
        for href, etag in batch:
            name = _name(coll, href)
            before = [records.MASTER, *overrides.pop(name, [])]
            if etag is None or href not in fetched:  # deleted, or gone since the listing
                _tombstone(ctx, coll, href, before)
                counts["deleted"] += 1
                if etags is not None:
                    etags.pop(name, None)
                continue
            new_etag, text = fetched[href]
            instances = _send(ctx, coll, href, new_etag or etag, text)
            if instances is None:  # unreadable: what an earlier run kept of it stays
                instances = before
            _tombstone(ctx, coll, href, [i for i in before if i not in instances])
            if len(instances) > 1:
                overrides[name] = [i for i in instances if i != records.MASTER]
            if etags is not None:
                etags[name] = _short(new_etag or etag)
            counts["changed"] += 1
    if not overrides:
        del state["overrides"]
    return counts


def _name(coll: DavCollection, href: str) -> str:
    base = dav_href(coll, "")
    return href[len(base):] if href.startswith(base) else href


def dav_href(coll: DavCollection, name: str) -> str:
    """Return the server path of a resource named relative to its collection."""
    return name if name.startswith("/") else urlsplit(coll.url).path + name


def _send(ctx: Context, coll: DavCollection, href: str, etag: str, text: str) -> list[str] | None:
    """Send the records of one resource; return the event instances it holds (None: skipped)."""
    try:
        found = records.contacts(text) if coll.kind == "contacts" else records.events(text)
    except records.RecordError as exc:  # the others are still read; this one is left as it was
        ctx.logger.warning("%s: %s skipped: %s", coll.name, href, exc)
        return None
    for record in found:
        record.update(collection=coll.url, href=href, etag=etag, deleted=False)
        if coll.kind == "contacts":
            record.pop("instance", None)
        ctx.save(DOCTYPE[coll.kind], record)
    if not found:
        ctx.logger.warning("%s: %s holds no %s", coll.name, href,
                           "vCard" if coll.kind == "contacts" else "event")
    return [r.get("instance", records.MASTER) for r in found]


def _tombstone(ctx: Context, coll: DavCollection, href: str, instances: list[str]) -> None:
    """Mark what a deleted resource held as deleted (the documents stay: see the docs)."""
    for instance in instances if coll.kind == "events" else instances[:1]:
        record: dict[str, Any] = {"collection": coll.url, "href": href, "deleted": True}
        if coll.kind == "events":
            record["instance"] = instance
        ctx.save(DOCTYPE[coll.kind], record)
