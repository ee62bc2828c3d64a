"""The WebDAV sub-application: one route for every path, dispatched by method."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from appliance.web.guard import device_access
from appliance.files import FilesError
from appliance.services import ServiceContext
from services.webdav import locking, reading, transfer, writing
from services.webdav.davxml import error_body
from services.webdav.deadprops import DOCTYPE
from services.webdav.errors import DavError
from services.webdav.space import DavSpace

logger = logging.getLogger(__name__)

PREFIX = "/dav/"
Handler = Callable[[DavSpace, web.Request, str], Awaitable[web.StreamResponse]]
HANDLERS: dict[str, Handler] = {
    "OPTIONS": reading.options, "PROPFIND": reading.propfind,
    "GET": reading.get, "HEAD": reading.get,
    "PUT": writing.put, "MKCOL": writing.mkcol, "DELETE": writing.delete,
    "PROPPATCH": writing.proppatch, "COPY": transfer.copy, "MOVE": transfer.move,
    "LOCK": locking.lock, "UNLOCK": locking.unlock,
}


def from_files(exc: FilesError) -> DavError:
    """Return the WebDAV answer to an error of the file tree (its message is the owner's)."""
    message = str(exc).rstrip(".")
    return DavError(exc.status, message[:1].upper() + message[1:] + ".")


def answer(exc: DavError) -> web.Response:
    """Return the response for a refused request: XML when a precondition is named."""
    if exc.status >= 500:
        logger.warning("WebDAV request failed (%d): %s", exc.status, exc.message)
    if exc.condition is None:
        return web.Response(status=exc.status, text=exc.message + "\n", headers=exc.headers)
    return web.Response(status=exc.status, headers=exc.headers, charset="utf-8",
                        body=error_body(exc.condition, exc.message, exc.href),
                        content_type="application/xml")


def build(ctx: ServiceContext) -> web.Application:
    """Return the WebDAV sub-application over the Drive ctx.drive() gives."""
    space = DavSpace(ctx.drive, lambda: ctx.collections[DOCTYPE], PREFIX, clock=ctx.clock)
    routes = web.RouteTableDef()

    @routes.route("*", "")  # /dav without its slash, as some clients ask
    @routes.route("*", "/{path:.*}")
    @device_access
    async def dispatch(request: web.Request) -> web.StreamResponse:
        handler = HANDLERS.get(request.method)
        if handler is None:
            return web.Response(status=405, headers=reading.DAV_HEADERS,
                                text=f"{request.method} is not a WebDAV method spoken here.\n")
        try:
            return await handler(space, request, space.path_of(request))
        except DavError as exc:
            return answer(exc)
        except FilesError as exc:
            return answer(from_files(exc))

    app = web.Application()
    app.router.add_routes(routes)
    return app
