"""The notes pages: the list and search, the editor with its preview, save and delete."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from appliance.files.errors import Conflict, FilesError, NotFound, TooLarge
from appliance.services import ServiceContext
from appliance.web.forms import text
from appliance.web.shell import render, translator
from services.notes.markdown import to_html
from services.notes.notebook import FOLDER, MAX_CHARS, Note, Notebook, clean
from services.notes.search import Hit, find

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


def share_form(ctx: ServiceContext) -> str | None:
    """Return the sharing service's form for a new link, if it is installed (docs/sharing.md)."""
    sharing = ctx.find("sharing")
    return sharing.prefix + "new" if sharing is not None and sharing.prefix else None


def build(ctx: ServiceContext) -> web.Application:
    """Return the notes sub-application."""
    routes = web.RouteTableDef()

    def notebook() -> Notebook:
        return Notebook(ctx.drive())

    def page(request: web.Request, template: str, context: dict[str, Any], *,
             status: int = 200) -> web.Response:
        def static(name: str) -> str:
            return str(request.app.router["static"].url_for(filename=name))
        return render(template, request, {
            "static": static, "url_index": str(request.app.router["index"].url_for()),
            **context}, status=status)

    def note_url(request: web.Request, name: str) -> str:
        return str(request.app.router["note"].url_for(name=name))

    async def editor(request: web.Request, *, name: str | None, body: str, etag: str,
                     error: str | None = None, theirs: str | None = None,
                     status: int = 200) -> web.Response:
        action = note_url(request, name) if name else str(request.app.router["new"].url_for())
        return page(request, "notes/edit.html", {
            "name": name, "body": body, "etag": etag, "error": error, "action": action,
            "preview": await asyncio.to_thread(to_html, body),
            "theirs": await asyncio.to_thread(to_html, theirs) if theirs is not None else None,
            "share": share_form(ctx) if name else None, "share_path": f"{FOLDER}/{name}",
            "url_preview": str(request.app.router["preview"].url_for()),
            "saved": "saved" in request.query,
        }, status=status)

    @routes.get("/", name="index")
    async def index(request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()[:200]
        book = notebook()
        rows: list[tuple[Note, Hit | None]]
        try:
            if query:
                rows = [(hit.note, hit) for hit in find(await book.texts(), query)]
            else:
                rows = [(note, None) for note in await book.notes()]
        except FilesError as exc:  # "Notes" is a file, or the disk refuses to make it
            _ = translator(request)
            return page(request, "notes/missing.html", {"message": _(
                "The %(folder)s folder of the Drive can't hold notes: %(reason)s.",
                folder=FOLDER, reason=str(exc))}, status=409)
        return page(request, "notes/index.html", {
            "query": query, "folder": FOLDER,
            "rows": [(note_url(request, n.entry.name), n, hit) for n, hit in rows]})

    @routes.get("/new", name="new")
    async def new(request: web.Request) -> web.Response:
        return await editor(request, name=None, body="", etag="")

    async def posted(request: web.Request) -> str | None:
        form = await request.post()
        body = text(form, "text", limit=MAX_CHARS * 2)
        return clean(body) if len(body) <= MAX_CHARS else None

    def too_long(request: web.Request) -> str:
        return translator(request)(
            "This note is too long to save (more than %(count)d characters). "
            "Split it into two notes.", count=MAX_CHARS)

    @routes.post("/new")
    async def create(request: web.Request) -> web.StreamResponse:
        body = await posted(request)
        if body is None:
            return await editor(request, name=None, body="", etag="",
                                error=too_long(request), status=413)
        try:
            entry = await notebook().create(body)
        except FilesError as exc:
            _ = translator(request)
            return await editor(request, name=None, body=body, etag="", status=400, error=_(
                "The note could not be saved: %(reason)s.", reason=str(exc)))
        raise web.HTTPSeeOther(note_url(request, entry.name) + "?saved=1")

    @routes.get("/n/{name}", name="note")
    async def edit(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            entry, body = await notebook().read(name)
        except TooLarge:
            _ = translator(request)
            return page(request, "notes/missing.html", {"message": _(
                "%(name)s is too big to edit here. Open it from the Drive on a computer.",
                name=name)}, status=413)
        except FilesError:
            _ = translator(request)
            return page(request, "notes/missing.html", {"message": _(
                "There is no note named %(name)s. It may have been renamed, moved or put "
                "in the trash from the Drive.", name=name)}, status=404)
        return await editor(request, name=entry.name, body=body, etag=entry.etag)

    @routes.post("/n/{name}")
    async def save(request: web.Request) -> web.StreamResponse:
        _ = translator(request)
        name = request.match_info["name"]
        form = await request.post()
        etag = text(form, "etag", limit=200)
        body = await posted(request)
        if body is None:
            return await editor(request, name=name, body="", etag=etag,
                                error=too_long(request), status=413)
        book = notebook()
        try:
            await book.save(name, body, etag)
        except Conflict:
            try:
                entry, current = await book.read(name)
            except FilesError:  # deleted or moved meanwhile: offer to keep it as a new note
                return await editor(request, name=None, body=body, etag="", status=409, error=_(
                    "This note was deleted or moved elsewhere since you opened it. Your "
                    "text is still here: save it to keep it as a new note."))
            return await editor(
                request, name=name, body=body, etag=entry.etag, theirs=current, status=409,
                error=_("This note was changed elsewhere (on another device?) since you "
                        "opened it. Your text is still in the editor, and the version now on "
                        "the box is below. Copy what you need from it, then save again to "
                        "replace it with yours."))
        except FilesError as exc:
            return await editor(request, name=name, body=body, etag=etag, status=400, error=_(
                "The note could not be saved: %(reason)s.", reason=str(exc)))
        raise web.HTTPSeeOther(note_url(request, name) + "?saved=1")

    @routes.post("/n/{name}/delete")
    async def remove(request: web.Request) -> web.StreamResponse:
        try:
            await notebook().trash(request.match_info["name"])
        except NotFound:
            pass  # already gone: the list says the rest
        raise web.HTTPSeeOther(str(request.app.router["index"].url_for()))

    @routes.post("/preview", name="preview")
    async def preview(request: web.Request) -> web.Response:
        form = await request.post()
        html = await asyncio.to_thread(to_html, text(form, "text", limit=MAX_CHARS))
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_routes(routes)
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    return app
