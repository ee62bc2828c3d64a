"""The owner's pages: the list of share links, the form that makes one, and revoking."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiohttp import web

from appliance.files import FileEntry
from appliance.files.errors import FilesError
from appliance.services import ServiceContext
from appliance.web.forms import text
from appliance.web.shell import translator
from services.sharing.links import Doc, ShareLinks
from services.sharing.pages import day, page
from services.sharing.reach import FILES_DOCTYPE

logger = logging.getLogger(__name__)

MAX_DAYS = 3660  # about ten years: a date further away is surely a typing slip
PASSWORD_MAX = 200


def _end_of(date: str, today: dt.date) -> float | None:
    """Return the last second of a YYYY-MM-DD day (box time), or None if it can't be used."""
    try:
        chosen = dt.date.fromisoformat(date)
    except ValueError:
        return None
    if chosen < today or (chosen - today).days > MAX_DAYS:
        return None
    return dt.datetime.combine(chosen, dt.time(23, 59, 59)).timestamp()


def routes(ctx: ServiceContext, links: ShareLinks) -> web.RouteTableDef:
    """Return the owner's routes: list, new, create, revoke (all private, all behind CSRF)."""
    table = web.RouteTableDef()

    def url(request: web.Request, link: Doc) -> str:
        path = request.app.router["visit"].url_for(token=link["token"])
        return f"{request.scheme}://{request.host}{path}"

    def row(request: web.Request, link: Doc) -> dict[str, Any]:
        meta = ctx.collections[FILES_DOCTYPE].get(link["file_id"])
        gone = meta is None or bool(meta.get("trashed"))
        expired = link["expires_at"] is not None and ctx.clock() > link["expires_at"]
        return {**link, "url": url(request, link), "gone": gone, "expired": expired,
                "where": link["path"] if gone or meta is None else meta["path"],
                "expires": day(link["expires_at"]) if link["expires_at"] else None}

    async def shareable(path: str) -> FileEntry | None:
        try:
            entry = await ctx.drive().stat(path)
        except FilesError:
            return None
        return None if entry.trashed or entry.path == "/" else entry

    def form_page(request: web.Request, path: str, entry: FileEntry | None, *,
                  error: str | None = None, expires: str = "", status: int = 200
                  ) -> web.Response:
        today = dt.date.fromtimestamp(ctx.clock())
        return page("sharing/new.html", request, {
            "path": path, "entry": entry, "error": error, "expires": expires,
            "today": today.isoformat()}, status=status)

    @table.get("/", name="index")
    async def index(request: web.Request) -> web.Response:
        """List the links: what, created, expires, visits; the one just made first."""
        rows = [row(request, link) for link in links.all()]
        created = request.query.get("created", "")
        return page("sharing/index.html", request, {
            "links": rows, "created": next((r for r in rows if r["_id"] == created), None)})

    @table.post("/")
    async def create(request: web.Request) -> web.StreamResponse:
        """Make a link from the posted form, then show it in the list, ready to copy."""
        _ = translator(request)
        form = await request.post()
        path = text(form, "path", limit=4096).strip()
        entry = await shareable(path) if path else None
        expires = text(form, "expires", limit=20).strip()
        if entry is None:
            return form_page(request, path, None, expires=expires, status=404, error=_(
                "There is no file or folder at %(path)s in the Drive. Check the path, "
                "or start again from the Drive.", path=path or "?"))
        expires_at = None
        if expires:
            today = dt.date.fromtimestamp(ctx.clock())
            expires_at = _end_of(expires, today)
            if expires_at is None:
                return form_page(request, path, entry, expires=expires, status=400, error=_(
                    "Pick a date between today and ten years from now, or leave the date "
                    "empty for a link that never expires."))
        password = text(form, "password", limit=100 * PASSWORD_MAX)
        if len(password) > PASSWORD_MAX:
            return form_page(request, path, entry, expires=expires, status=400, error=_(
                "This password is too long: use at most 200 characters."))
        link = await links.create(entry, expires_at=expires_at, password=password or None)
        index = request.app.router["index"].url_for().with_query(created=link["_id"])
        raise web.HTTPSeeOther(str(index))

    @table.get("/new", name="new")
    async def new(request: web.Request) -> web.Response:
        """Show the form for a new link to ?path= (a file or folder of the Drive)."""
        _ = translator(request)
        path = request.query.get("path", "")
        if not path:
            return form_page(request, path, None)
        entry = await shareable(path)
        error = None if entry else _(
            "There is no file or folder at %(path)s in the Drive. Check the path, "
            "or start again from the Drive.", path=path)
        return form_page(request, path, entry, error=error, status=200 if entry else 404)

    @table.post("/revoke")
    async def revoke(request: web.Request) -> web.StreamResponse:
        """Turn a link off for good: its address answers "not found" from now on."""
        form = await request.post()
        await links.revoke(text(form, "id", limit=64))
        raise web.HTTPSeeOther(str(request.app.router["index"].url_for()))

    return table
