"""A small WebDAV client for CardDAV and CalDAV: PROPFIND, sync-collection, multiget."""
from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from appliance.jobs.connector import LOGIN_FAILED, NOT_FOUND, VENDOR_DOWN, ConnectorError

D, CARD, CAL = "DAV:", "urn:ietf:params:xml:ns:carddav", "urn:ietf:params:xml:ns:caldav"
NS = f'xmlns:d="{D}" xmlns:card="{CARD}" xmlns:cal="{CAL}"'
BATCH = 50  # resources asked for by one multiget
REDIRECTS = 5


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


@dataclass
class Response:
    """One <response> of a multistatus: its href, status and the properties found (200)."""

    href: str  # its path, which is how sync reports and multigets name it
    url: str  # the full URL, for what lives on another host (iCloud's home sets)
    status: int
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, ns: str, name: str) -> str:
        """Return a property's text, or ""."""
        element = self.props.get(_q(ns, name))
        return (element.text or "").strip() if element is not None else ""

    def href_in(self, ns: str, name: str) -> str:
        """Return the URL of the first <href> inside a property (a principal, a home set)."""
        element = self.props.get(_q(ns, name))
        found = element.find(_q(D, "href")) if element is not None else None
        text = (found.text or "").strip() if found is not None else ""
        return urljoin(self.url, text) if text else ""


@dataclass
class DavCollection:
    """An address book or a calendar found on the server."""

    url: str
    kind: str  # "contacts" or "events"
    name: str
    sync_token: str  # "" if the server does not do sync-collection (RFC 6578)


class InvalidToken(Exception):
    """The server no longer knows a sync-token: a full listing is needed."""


class Dav:
    """Speaks WebDAV to one server with one login; HTTP failures become connector errors."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url if url.endswith("/") else url + "/"
        self.host = urlsplit(self.url).netloc

    async def request(self, method: str, url: str, body: str = "", depth: str | None = None
                      ) -> tuple[int, bytes, str]:
        """Send a request; return its status, body and final URL. 401 and 5xx end the run."""
        headers = {"Content-Type": 'application/xml; charset="utf-8"'}
        if depth is not None:
            headers["Depth"] = depth
        for _ in range(REDIRECTS):
            status, content, location = await self._send(method, url, body, headers)
            if status not in (301, 302, 303, 307, 308) or not location:
                break
            target = urljoin(url, location)
            if url.startswith("https:") and not target.startswith("https:"):
                raise ConnectorError(NOT_FOUND, f"{self.host} sends Hearth to {target}, which "
                                                f"is not encrypted: check the address")
            # aiohttp would drop the login on a redirect to another host; iCloud and
            # hosted Nextclouds send /.well-known there, so redirects are followed here.
            url = target
        if status == 401:
            raise ConnectorError(LOGIN_FAILED, f"{self.host} refused the login and password")
        if status >= 500:
            raise ConnectorError(VENDOR_DOWN, f"{self.host} answered {status} "
                                              f"to {method} {urlsplit(url).path}")
        return status, content, url

    async def _send(self, method: str, url: str, body: str, headers: dict[str, str]
                    ) -> tuple[int, bytes, str]:
        try:
            async with self.http.request(method, url, data=body.encode(), headers=headers,
                                         allow_redirects=False) as resp:
                return resp.status, await resp.read(), resp.headers.get("Location", "")
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, OSError) as exc:
            raise ConnectorError(VENDOR_DOWN, f"{self.host} can't be reached ({exc}); "
                                              f"Hearth will try again later") from None

    async def multistatus(self, method: str, url: str, body: str, depth: str
                          ) -> tuple[list[Response], ET.Element | None]:
        """Send a PROPFIND or REPORT; return its responses and the multistatus element."""
        status, content, final = await self.request(method, url, body, depth)
        if status in (403, 409) and b"valid-sync-token" in content:
            raise InvalidToken()
        if status != 207:
            return [], None
        try:
            root = ET.fromstring(content)
        except ET.ParseError:
            raise ConnectorError(VENDOR_DOWN, f"{self.host} sent a broken answer to "
                                              f"{method} {urlsplit(url).path}") from None
        return [self._response(r, final) for r in root.iter(_q(D, "response"))], root

    def _response(self, element: ET.Element, base: str) -> Response:
        href = element.findtext(_q(D, "href"), "").strip()
        url = urljoin(base, href)
        found = Response(urlsplit(url).path, url, _status(element))
        if element.find(_q(D, "status")) is None:  # per-property statuses instead
            found.status = 404
        for propstat in element.iter(_q(D, "propstat")):
            if _status(propstat) == 200:
                for prop in propstat.iter(_q(D, "prop")):
                    found.props.update((child.tag, child) for child in prop)
                found.status = 200
        return found

    def absolute(self, href: str) -> str:
        """Return a server path as a full URL."""
        return urljoin(self.url, href)

    async def principal_homes(self) -> list[str]:
        """Return the address-book and calendar home sets of the logged-in user."""
        body = f'<d:propfind {NS}><d:prop><d:current-user-principal/></d:prop></d:propfind>'
        principal = ""
        for start in (self.url, self.absolute("/.well-known/carddav"),
                      self.absolute("/.well-known/caldav")):
            found, _ = await self.multistatus("PROPFIND", start, body, "0")
            principal = next((r.href_in(D, "current-user-principal") for r in found
                              if r.href_in(D, "current-user-principal")), "")
            if principal:
                break
        if not principal:
            return []
        body = (f'<d:propfind {NS}><d:prop><card:addressbook-home-set/><cal:calendar-home-set/>'
                f'</d:prop></d:propfind>')
        found, _ = await self.multistatus("PROPFIND", principal, body, "0")
        homes = [r.href_in(ns, name) for r in found
                 for ns, name in ((CARD, "addressbook-home-set"), (CAL, "calendar-home-set"))]
        return list(dict.fromkeys(h for h in homes if h))

    async def collections(self) -> list[DavCollection]:
        """Find the address books and the calendars (of events) this login can read."""
        homes = await self.principal_homes() or [self.url]
        body = (f'<d:propfind {NS}><d:prop><d:resourcetype/><d:displayname/><d:sync-token/>'
                f'<cal:supported-calendar-component-set/></d:prop></d:propfind>')
        found: dict[str, DavCollection] = {}
        for home in homes:
            for resp in (await self.multistatus("PROPFIND", home, body, "1"))[0]:
                kind = _kind(resp)
                if kind and resp.url not in found:
                    found[resp.url] = DavCollection(resp.url, kind,
                                                  resp.text(D, "displayname") or resp.href,
                                                  resp.text(D, "sync-token"))
        return list(found.values())

    async def changes(self, coll: DavCollection, token: str
                      ) -> tuple[dict[str, str | None], str]:
        """Return what changed since `token` (href → etag, None if deleted) and the new token."""
        body = (f'<d:sync-collection {NS}><d:sync-token>{_escape(token)}</d:sync-token>'
                f'<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>'
                f'</d:sync-collection>')
        found, root = await self.multistatus("REPORT", coll.url, body, "0")
        if root is None:
            raise InvalidToken()
        own = urlsplit(coll.url).path
        changed = {r.href: (r.text(D, "getetag") if r.status == 200 else None)
                   for r in found if r.href != own}
        return changed, (root.findtext(_q(D, "sync-token")) or "").strip()

    async def etags(self, coll: DavCollection) -> dict[str, str]:
        """Return every resource of a collection with its ETag (for servers without sync)."""
        body = f'<d:propfind {NS}><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>'
        own = urlsplit(coll.url).path
        found, _ = await self.multistatus("PROPFIND", coll.url, body, "1")
        return {r.href: r.text(D, "getetag") for r in found
                if r.href != own and r.status == 200 and not _is_collection(r)}

    async def fetch(self, coll: DavCollection, hrefs: list[str]) -> dict[str, tuple[str, str]]:
        """Return href → (etag, vCard or iCalendar text) for these resources, by multiget."""
        if not hrefs:
            return {}
        ns, report, data = ((CARD, "addressbook-multiget", "address-data")
                            if coll.kind == "contacts" else
                            (CAL, "calendar-multiget", "calendar-data"))
        prefix = "card" if ns == CARD else "cal"
        items = "".join(f"<d:href>{_escape(h)}</d:href>" for h in hrefs)
        body = (f'<{prefix}:{report} {NS}><d:prop><d:getetag/><{prefix}:{data}/></d:prop>'
                f'{items}</{prefix}:{report}>')
        return {resp.href: (resp.text(D, "getetag"), resp.text(ns, data))
                for resp in (await self.multistatus("REPORT", coll.url, body, "1"))[0]
                if resp.status == 200 and resp.text(ns, data)}


def _status(element: ET.Element) -> int:
    text = element.findtext(_q(D, "status"), "")
    parts = text.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 200


def _is_collection(resp: Response) -> bool:
    kinds = resp.props.get(_q(D, "resourcetype"))
    return kinds is not None and kinds.find(_q(D, "collection")) is not None


def _kind(resp: Response) -> str:
    kinds = resp.props.get(_q(D, "resourcetype"))
    if kinds is None:
        return ""
    if kinds.find(_q(CARD, "addressbook")) is not None:
        return "contacts"
    if kinds.find(_q(CAL, "calendar")) is None:
        return ""
    supported = resp.props.get(_q(CAL, "supported-calendar-component-set"))
    if supported is None or len(supported) == 0:
        return "events"  # no set means every component
    names = {c.get("name", "").upper() for c in supported}
    return "events" if "VEVENT" in names else ""  # a task list holds no events


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
