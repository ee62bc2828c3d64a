"""Settings: the box's name and language, the passphrase, sessions, tokens and updates."""
from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from appliance import keys
from appliance.web.guard import identity
from appliance.auth.devices import DeviceError
from appliance.auth.tokens import Scope, ScopeError
from appliance.owner import OwnerError
from appliance.updater.upload import UploadError
from appliance.web.agents import describe_agent
from appliance.web import update_page
from appliance.web.forms import text
from appliance.web.shell import ngettext_for, remember_language, render, translator

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    core = request.config_dict[keys.CORE]
    who = identity(request)
    lan = request.config_dict[keys.LAN]
    context = {
        "hostname": lan.announcer.hostname, "name_taken": lan.announcer.conflict,
        "https": lan.https,
        "sessions": [(session, *describe_agent(session.user_agent))
                     for session in core.sessions.list()],
        "current_session": who.session.id if who and who.session else None,
        "tokens": core.tokens.list(),
        "devices": core.devices.list(), "new_device": None,
        "message": None, "error": None, "new_token": None, "section": None,
        **await update_page.page_context(request.config_dict[keys.SETTINGS],
                                         translator(request)),
    }
    context.update(extra)
    return render("settings.html", request, context, status=status)


@routes.get("/settings")
async def settings(request: web.Request) -> web.Response:
    """Show the settings page."""
    return await _page(request)


@routes.post("/settings/box")
async def settings_box(request: web.Request) -> web.StreamResponse:
    """Rename the box or change its language."""
    core = request.config_dict[keys.CORE]
    form = await request.post()
    language = text(form, "language", limit=8) or None
    before = core.owner.name
    try:
        await core.owner.update(name=text(form, "name", limit=64), language=language)
    except OwnerError as exc:
        return await _page(request, status=exc.status, error=exc.said(translator(request)),
                           section="box")
    if core.owner.name != before:
        await request.config_dict[keys.LAN].rename(core.owner.name)
    response = web.HTTPSeeOther("/settings")
    if language:
        remember_language(request, response, language)
    raise response


@routes.post("/settings/passphrase")
async def settings_passphrase(request: web.Request) -> web.Response:
    """Change the passphrase and end every other session."""
    core = request.config_dict[keys.CORE]
    _ = translator(request)
    form = await request.post()
    new, again = text(form, "new"), text(form, "new2")
    error = None
    if not await core.owner.check_passphrase(text(form, "current")):
        error = _("The current passphrase is wrong.")
    elif new != again:
        error = _("The two passphrases differ. Type the same one twice.")
    else:
        try:
            await core.owner.set_passphrase(new)
        except OwnerError as exc:
            error = exc.said(_)
    if error:
        return await _page(request, status=400, error=error, section="passphrase")
    who = identity(request)
    ended = await core.sessions.end_all(keep=who.session.id if who and who.session else None)
    logger.info("passphrase changed; %d other sessions ended", ended)
    ngettext = ngettext_for(request)
    return await _page(request, section="passphrase", message=ngettext(
        "Passphrase changed. %(count)d other browser was signed out.",
        "Passphrase changed. %(count)d other browsers were signed out.", ended))


@routes.post("/settings/sessions/end")
async def settings_end_session(request: web.Request) -> web.StreamResponse:
    """Sign another browser out."""
    form = await request.post()
    await request.config_dict[keys.CORE].sessions.end(text(form, "id", limit=128))
    raise web.HTTPSeeOther("/settings#sessions")


@routes.post("/settings/devices")
async def settings_add_device(request: web.Request) -> web.Response:
    """Add a device and show its app password once."""
    core = request.config_dict[keys.CORE]
    form = await request.post()
    try:
        password, device = await core.devices.add(text(form, "name", limit=64))
    except DeviceError as exc:
        return await _page(request, status=exc.status, error=exc.said(translator(request)),
                           section="devices")
    return await _page(request, section="devices", new_device=(device.name, password))


@routes.post("/settings/devices/revoke")
async def settings_revoke_device(request: web.Request) -> web.StreamResponse:
    """Revoke a device's app password."""
    form = await request.post()
    await request.config_dict[keys.CORE].devices.revoke(text(form, "id", limit=64))
    raise web.HTTPSeeOther("/settings#devices")


@routes.post("/settings/tokens")
async def settings_create_token(request: web.Request) -> web.Response:
    """Create a token and show it once."""
    core = request.config_dict[keys.CORE]
    form = await request.post()
    lines = [line for line in text(form, "scopes", limit=4000).splitlines() if line.strip()]
    try:
        scopes = [Scope.parse(line, private=core.private_doctypes()) for line in lines]
        plaintext, _token = await core.tokens.create(text(form, "name", limit=80), scopes)
    except ScopeError as exc:
        return await _page(request, status=400, error=exc.said(translator(request)),
                           section="tokens")
    return await _page(request, new_token=plaintext, section="tokens")


@routes.post("/settings/tokens/revoke")
async def settings_revoke_token(request: web.Request) -> web.StreamResponse:
    """Revoke a token."""
    form = await request.post()
    await request.config_dict[keys.CORE].tokens.revoke(text(form, "id", limit=64))
    raise web.HTTPSeeOther("/settings#tokens")


@routes.post("/settings/update")
async def settings_update(request: web.Request) -> web.Response:
    """Take a signed update (wheel and signature) and hand it to the box's updater."""
    try:
        await update_page.receive(request)
    except UploadError as exc:
        return await _page(request, status=exc.status, section="update",
                           error=exc.said(translator(request)))
    raise web.HTTPSeeOther("/settings#update")


@routes.get("/settings/update/status")
async def settings_update_status(request: web.Request) -> web.Response:
    """Say how the last update went, for the page that follows it through the restart."""
    status = await update_page.status_json(request.config_dict[keys.SETTINGS],
                                           translator(request))
    return web.json_response(status, headers={"Cache-Control": "no-store"})
