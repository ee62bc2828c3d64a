"""The Drive's sub-application: its pages, forms, transfers and static files."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from appliance.services import ServiceContext
from services.drive import actions, downloads, pages, uploads
from services.drive.upkeep import Upkeep

STATIC = Path(__file__).parent / "static"


def build(ctx: ServiceContext) -> web.Application:
    """Return the Drive's sub-application."""
    upkeep = Upkeep()

    async def upkept(_app: web.Application) -> AsyncIterator[None]:
        yield
        await upkeep.close()  # a rescan still running stops with the box

    app = web.Application()
    for module in (pages, actions, uploads, downloads):
        app.router.add_routes(module.routes(ctx, upkeep))
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    app.cleanup_ctx.append(upkept)
    return app
