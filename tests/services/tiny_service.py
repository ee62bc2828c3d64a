"""A whole service in a few lines: a guestbook that keeps names, tells the owner, dates them."""
from __future__ import annotations

from aiohttp import web

from appliance.doctypes import Doctype, FieldSpec
from appliance.services import Service, ServiceContext

SIGNATURES = Doctype("org.example.guestbook", fields={
    "name": FieldSpec("str", required=True, nullable=False),
    "signed_at": FieldSpec("number", required=True, nullable=False)})


def build(ctx: ServiceContext) -> web.Application:
    """Return the guestbook: GET / lists the signatures, POST / signs it."""
    routes = web.RouteTableDef()

    @routes.get("/")
    async def signatures(request: web.Request) -> web.Response:
        docs = ctx.collections[SIGNATURES.name].find({}, sort=[{"signed_at": "asc"}])
        return web.json_response([{"name": d["name"], "signed_at": d["signed_at"]}
                                  for d in docs])

    @routes.post("/")
    async def sign(request: web.Request) -> web.Response:
        name = str((await request.post()).get("name", "")).strip()[:100]
        if not name:
            raise web.HTTPBadRequest(text="Say who you are.")
        doc = await ctx.collections[SIGNATURES.name].create({"name": name, "signed_at": ctx.clock()})
        await ctx.notify("signed", f"{name} signed the guestbook", "")
        ctx.logger.info("%s signed", name)
        return web.json_response({"id": doc["_id"]}, status=201)

    app = web.Application()
    app.router.add_routes(routes)
    return app


SERVICE = Service(id="guestbook", name="Guestbook", description="Who came by",
                  icon="📖", routes=build, doctypes=(SIGNATURES,))
