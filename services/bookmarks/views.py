"""The bookmarks pages: a list, a form to add one, and delete."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from appliance.services import ServiceContext
from appliance.web.forms import text
from appliance.web.shell import render, translator

DOCTYPE = "io.hearth.bookmarks"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


def _clean_url(raw: str) -> str | None:
    raw = raw.strip()
    if not _SCHEME.match(raw):
        raw = "https://" + raw  # "framagit.org" or "nas.local:5000" mean the web
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or len(raw) > 2000 \
            or any(c in host for c in " <>\"'"):
        return None
    return raw


def build(ctx: ServiceContext) -> web.Application:
    """Return the bookmarks sub-application."""
    routes = web.RouteTableDef()

    def page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
        coll = ctx.collections[DOCTYPE]
        tag = request.query.get("tag", "")
        docs = coll.find({}, sort=[{"created_at": "desc"}])
        if tag:
            docs = [d for d in docs if tag in d.get("tags", [])]
        return render("bookmarks/index.html", request,
                      {"bookmarks": docs, "error": error, "tag": tag}, status=status)

    @routes.get("/", name="index")
    async def index(request: web.Request) -> web.Response:
        return page(request)

    @routes.post("/add")
    async def add(request: web.Request) -> web.StreamResponse:
        _ = translator(request)
        form = await request.post()
        url = _clean_url(text(form, "url", limit=2000))
        if url is None:
            return page(request, error=_("That is not a web address (like https://example.org)."),
                        status=400)
        title = text(form, "title", limit=200).strip() or urlsplit(url).netloc
        tags = sorted({t.strip().lower() for t in text(form, "tags", limit=500).split(",")
                       if t.strip()})
        await ctx.collections[DOCTYPE].create(
            {"url": url, "title": title, "tags": tags, "created_at": ctx.clock()})
        raise web.HTTPSeeOther(request.app.router["index"].url_for().path)

    @routes.post("/delete")
    async def remove(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        coll = ctx.collections[DOCTYPE]
        doc = coll.get(text(form, "id", limit=128))
        if doc is not None:
            await coll.delete(doc["_id"], doc["_rev"])
        raise web.HTTPSeeOther(request.app.router["index"].url_for().path)

    app = web.Application()
    app.router.add_routes(routes)
    return app
