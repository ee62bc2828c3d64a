"""The Drive's pages: a folder, one item, search results and the trash."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from appliance.files import FilesError, NotADirectory, NotFound
from appliance.web.shell import render
from appliance.web.storage_page import sizes_for
from services.drive.listing import Order, paged, preview_of, rows
from services.drive.locations import Links, context_of, crumbs, parent_of, path_in, tree_of
from services.drive.problems import Problem, json_problem, problem
from services.drive.upkeep import UPKEEP

routes = web.RouteTableDef()


def _assets(request: web.Request) -> dict[str, str]:
    static = request.app.router["static"]
    return {"drive_css": str(static.url_for(filename="drive.css")),
            "drive_js": str(static.url_for(filename="drive.js"))}


async def _usage(request: web.Request) -> dict[str, Any]:
    used, free, total = await request.app[UPKEEP].usage(tree_of(request))
    words = sizes_for(request)
    taken = max(total - free, 0)
    return {"used": words(used), "free": words(free), "total": words(total),
            "percent": round(100 * taken / total) if total else 0}


def _page(name: str, request: web.Request, context: dict[str, Any],
          error: Problem | None) -> web.Response:
    full = {**_assets(request), "links": Links.of(request), "error": error,
            "upkeep": request.app[UPKEEP], **context}
    return render(name, request, full, status=error.status if error else 200)


async def folder_page(request: web.Request, path: str, error: Problem | None = None
                      ) -> web.Response:
    """Render a folder's page, with `error` on top if an action was refused."""
    tree = tree_of(request)
    try:
        entries = await tree.list(path)
    except NotADirectory:
        raise web.HTTPSeeOther(Links.of(request).item(path)) from None
    except FilesError as exc:
        if path == "/":
            raise
        missing = problem(request, exc)
        return _page("drive/gone.html", request, {"crumbs": crumbs(request, parent_of(path)),
                                                  "usage": await _usage(request)}, missing)
    order = Order.of(request)
    return _page("drive/folder.html", request, {
        "path": path, "crumbs": crumbs(request, path), "pages": paged(request, order.apply(entries)),
        "order": order, "usage": await _usage(request)}, error)


async def item_page(request: web.Request, path: str, error: Problem | None = None
                    ) -> web.Response:
    """Render the page of one file or folder: a preview and what can be done with it."""
    if path == "/":
        raise web.HTTPSeeOther(Links.of(request).folder("/"))
    try:
        entry = await tree_of(request).stat(path)
    except NotFound as exc:
        return await folder_page(request, parent_of(path), error or problem(request, exc))
    [row] = rows(request, [entry])
    return _page("drive/item.html", request, {
        "path": path, "crumbs": crumbs(request, path), "row": row, "entry": entry,
        "preview": preview_of(entry), "parent": parent_of(path),
        "share": _share_link(request, path)}, error)


async def trash_page(request: web.Request, error: Problem | None = None) -> web.Response:
    """Render the trash: what was deleted, where it came from, and a way back."""
    entries = await tree_of(request).trashed()
    return _page("drive/trash.html", request, {
        "crumbs": crumbs(request, "/"), "pages": paged(request, entries),
        "usage": await _usage(request)}, error)


async def _guarded(request: web.Request,
                   show: Callable[[web.Request, str], Awaitable[web.Response]]) -> web.Response:
    """Answer with a refusal page when the URL's path is not a valid Drive path."""
    try:
        path = path_in(request)
    except FilesError as exc:
        return await folder_page(request, "/", problem(request, exc))
    return await show(request, path)


def _share_link(request: web.Request, path: str) -> str | None:
    """Return where sharing this item starts, if the Sharing service is installed."""
    sharing = context_of(request).find("sharing")
    if sharing is None or sharing.prefix is None:
        return None
    return f"{sharing.prefix}new?{urlencode({'path': path})}"


@routes.get("/", name="root")
async def root(request: web.Request) -> web.Response:
    """Show the top of the Drive."""
    return await folder_page(request, "/")


@routes.get("/folder/{path:.*}", name="folder")
async def folder(request: web.Request) -> web.Response:
    """Show a folder."""
    return await _guarded(request, folder_page)


@routes.get("/item/{path:.+}", name="item")
async def item(request: web.Request) -> web.Response:
    """Show one file (previewed when the browser can) or folder, and its actions."""
    return await _guarded(request, item_page)


@routes.get("/trash", name="trash")
async def trash(request: web.Request) -> web.Response:
    """Show the trash."""
    return await trash_page(request)


@routes.get("/search", name="search")
async def search(request: web.Request) -> web.Response:
    """Show the files and folders whose name holds the words searched for."""
    query = request.query.get("q", "").strip()[:200]
    found = await tree_of(request).search(query) if query else []
    order = Order.of(request)
    return _page("drive/search.html", request, {
        "crumbs": crumbs(request, "/"), "query": query, "order": order,
        "pages": paged(request, order.apply(found) if "sort" in request.query else found),
        "usage": await _usage(request)}, None)


@routes.get("/api/folders/{path:.*}", name="api_folders")
async def folders(request: web.Request) -> web.Response:
    """Return a folder's folders, for the folder picker (JSON)."""
    try:
        path = path_in(request)
        entries = await tree_of(request).list(path)
    except FilesError as exc:
        raise json_problem(request, exc) from None
    return web.json_response({
        "path": path,
        "crumbs": [{"name": c.name, "path": c.path} for c in crumbs(request, path)],
        "folders": [{"name": e.name, "path": e.path} for e in entries if e.is_dir]})
