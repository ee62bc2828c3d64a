"""The sharing sub-application, mounted at /s/: the owner's pages and the visitors'."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from appliance.services import ServiceContext
from services.sharing.links import TOKEN_PATTERN, Links
from services.sharing.owner import Owner
from services.sharing.visitor import Visitor

STATIC = Path(__file__).parent / "static"


def build(ctx: ServiceContext) -> web.Application:
    """Return the sharing sub-application."""
    app = web.Application()
    links = Links(ctx)
    # The owner's fixed words first: a token (32 characters) never equals one of them.
    Owner(ctx, links).routes(app)
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    Visitor(ctx, links).routes(app, TOKEN_PATTERN)
    return app
