"""The Drive's sub-application: its pages, forms, transfers and static files."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from appliance.services import ServiceContext
from services.drive import actions, downloads, pages, uploads
from services.drive.locations import CONTEXT
from services.drive.upkeep import UPKEEP, Upkeep

STATIC = Path(__file__).parent / "static"


async def _stop(app: web.Application) -> None:
    await app[UPKEEP].close()


def build(ctx: ServiceContext) -> web.Application:
    """Return the Drive's sub-application."""
    app = web.Application()
    app[CONTEXT] = ctx
    app[UPKEEP] = Upkeep()
    for module in (pages, actions, uploads, downloads):
        app.router.add_routes(module.routes)
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    app.on_cleanup.append(_stop)
    return app
