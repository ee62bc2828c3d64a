"""The box's certificate authority, to download and trust once per device."""
from __future__ import annotations

import asyncio

from aiohttp import web

from appliance import keys
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.web.guard import public
from appliance.web.shell import render

routes = web.RouteTableDef()


@routes.get("/https")
@public
async def https(request: web.Request) -> web.Response:
    """Explain HTTPS at home, with the certificate to download and its fingerprint."""
    lan = request.config_dict[keys.LAN]
    fingerprint = None
    if lan.certs is not None and lan.https:
        fingerprint = await asyncio.to_thread(lan.certs.ca_fingerprint)
    return render("https.html", request, {
        "fingerprint": fingerprint, "hostname": lan.announcer.hostname,
        "https_port": lan.https_port})


@routes.get("/https/hearth-ca.crt")
@public
async def ca_certificate(request: web.Request) -> web.Response:
    """Serve the box's CA certificate (public by nature) the way phones install it."""
    lan = request.config_dict[keys.LAN]
    if lan.certs is None or not lan.https:
        raise UserError(N_("HTTPS is not set up on this box yet."), status=404)
    pem = await asyncio.to_thread(lan.certs.ca_pem)
    return web.Response(body=pem, content_type="application/x-x509-ca-cert", headers={
        "Content-Disposition": 'attachment; filename="hearth-ca.crt"'})
