"""The Drive's pages: a folder, one item, search results and the trash."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from appliance.files import FilesError, NotADirectory, NotFound
from appliance.services import ServiceContext
from appliance.web.shell import render
from appliance.web.storage_page import sizes_for
from services.drive.listing import ListingOrder, paged, preview_of, rows
from services.drive.locations import DriveUrls, crumbs, parent_of, path_in
from services.drive.problems import Problem, json_problem, problem
from services.drive.upkeep import Upkeep


def _assets(request: web.Request) -> dict[str, str]:
    static = request.app.router["static"]
    return {"drive_css": str(static.url_for(filename="drive.css")),
            "drive_js": str(static.url_for(filename="drive.js"))}


@dataclass(frozen=True)
class DrivePages:
    """The pages any Drive route may answer with: a folder, one item, the trash."""

    ctx: ServiceContext
    upkeep: Upkeep

    async def _usage(self, request: web.Request) -> dict[str, Any]:
        used, free, total = await self.upkeep.usage(self.ctx.drive())
        words = sizes_for(request)
        taken = max(total - free, 0)
        return {"used": words(used), "free": words(free), "total": words(total),
                "percent": round(100 * taken / total) if total else 0}

    def _page(self, name: str, request: web.Request, context: dict[str, Any],
              error: Problem | None) -> web.Response:
        full = {**_assets(request), "links": DriveUrls.of(request), "error": error,
                "upkeep": self.upkeep, **context}
        return render(name, request, full, status=error.status if error else 200)

    async def folder(self, request: web.Request, path: str, error: Problem | None = None
                     ) -> web.Response:
        """Render a folder's page, with `error` on top if an action was refused."""
        try:
            entries = await self.ctx.drive().list(path)
        except NotADirectory:
            raise web.HTTPSeeOther(DriveUrls.of(request).item(path)) from None
        except FilesError as exc:
            if path == "/":
                raise
            missing = problem(request, exc)
            return self._page("drive/gone.html", request, {
                "crumbs": crumbs(request, parent_of(path)),
                "usage": await self._usage(request)}, missing)
        order = ListingOrder.of(request)
        return self._page("drive/folder.html", request, {
            "path": path, "crumbs": crumbs(request, path),
            "pages": paged(request, order.apply(entries)),
            "order": order, "usage": await self._usage(request)}, error)

    async def item(self, request: web.Request, path: str, error: Problem | None = None
                   ) -> web.Response:
        """Render the page of one file or folder: a preview and what can be done with it."""
        if path == "/":
            raise web.HTTPSeeOther(DriveUrls.of(request).folder("/"))
        try:
            entry = await self.ctx.drive().stat(path)
        except NotFound as exc:
            return await self.folder(request, parent_of(path), error or problem(request, exc))
        [row] = rows(request, [entry])
        return self._page("drive/item.html", request, {
            "path": path, "crumbs": crumbs(request, path), "row": row, "entry": entry,
            "preview": preview_of(entry), "parent": parent_of(path),
            "share": self._share_link(path)}, error)

    async def trash(self, request: web.Request, error: Problem | None = None) -> web.Response:
        """Render the trash: what was deleted, where it came from, and a way back."""
        entries = await self.ctx.drive().trashed()
        return self._page("drive/trash.html", request, {
            "crumbs": crumbs(request, "/"), "pages": paged(request, entries),
            "usage": await self._usage(request)}, error)

    async def search(self, request: web.Request) -> web.Response:
        """Render the files and folders whose name holds the words searched for."""
        query = request.query.get("q", "").strip()[:200]
        found = await self.ctx.drive().search(query) if query else []
        order = ListingOrder.of(request)
        return self._page("drive/search.html", request, {
            "crumbs": crumbs(request, "/"), "query": query, "order": order,
            "pages": paged(request, order.apply(found) if "sort" in request.query else found),
            "usage": await self._usage(request)}, None)

    async def guarded(self, request: web.Request,
                      show: Callable[[web.Request, str], Awaitable[web.Response]]
                      ) -> web.Response:
        """Answer with a refusal page when the URL's path is not a valid Drive path."""
        try:
            path = path_in(request)
        except FilesError as exc:
            return await self.folder(request, "/", problem(request, exc))
        return await show(request, path)

    def _share_link(self, path: str) -> str | None:
        """Return where sharing this item starts, if the Sharing service is installed."""
        sharing = self.ctx.find("sharing")
        if sharing is None or sharing.prefix is None:
            return None
        return f"{sharing.prefix}new?{urlencode({'path': path})}"


def routes(ctx: ServiceContext, upkeep: Upkeep) -> web.RouteTableDef:
    """Return the routes of the Drive's pages."""
    table = web.RouteTableDef()
    pages = DrivePages(ctx, upkeep)

    @table.get("/", name="root")
    async def root(request: web.Request) -> web.Response:
        """Show the top of the Drive."""
        return await pages.folder(request, "/")

    @table.get("/folder/{path:.*}", name="folder")
    async def folder(request: web.Request) -> web.Response:
        """Show a folder."""
        return await pages.guarded(request, pages.folder)

    @table.get("/item/{path:.+}", name="item")
    async def item(request: web.Request) -> web.Response:
        """Show one file (previewed when the browser can) or folder, and its actions."""
        return await pages.guarded(request, pages.item)

    @table.get("/trash", name="trash")
    async def trash(request: web.Request) -> web.Response:
        """Show the trash."""
        return await pages.trash(request)

    @table.get("/search", name="search")
    async def search(request: web.Request) -> web.Response:
        """Show the files and folders whose name holds the words searched for."""
        return await pages.search(request)

    @table.get("/api/folders/{path:.*}", name="api_folders")
    async def folders(request: web.Request) -> web.Response:
        """Return a folder's folders, for the folder picker (JSON)."""
        try:
            path = path_in(request)
            entries = await ctx.drive().list(path)
        except FilesError as exc:
            raise json_problem(request, exc) from None
        return web.json_response({
            "path": path,
            "crumbs": [{"name": c.name, "path": c.path} for c in crumbs(request, path)],
            "folders": [{"name": e.name, "path": e.path} for e in entries if e.is_dir]})

    return table
