"""The sharing sub-application, mounted at /s/: the owner's pages and the visitors'."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from appliance.services import ServiceContext
from services.sharing import manage, visitor
from services.sharing.links import ShareLinks

STATIC = Path(__file__).parent / "static"


def build(ctx: ServiceContext) -> web.Application:
    """Return the sharing sub-application."""
    app = web.Application()
    links = ShareLinks(ctx)
    # The owner's fixed words first: a token (32 characters) never equals one of them.
    app.router.add_routes(manage.routes(ctx, links))
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    app.router.add_routes(visitor.routes(ctx, links))
    return app
