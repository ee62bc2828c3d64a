"""The shell's own pages: onboarding, sign in and out, home, notifications."""
from __future__ import annotations

import logging

from aiohttp import web

from appliance import keys
from appliance.web.guard import (SESSION_COOKIE, always_open, identity, public,
                                   set_session_cookie)
from appliance.auth.known_browsers import (KEY_PURPOSE, KNOWN_BROWSER_COOKIE,
                                           KNOWN_BROWSER_DAYS, is_known_browser,
                                           known_browser_token)
from appliance.auth.throttle import Throttled
from appliance.keyring import Keyring
from appliance.owner import OwnerError
from appliance.errors import UserError
from appliance.i18n import LANGUAGES, N_
from appliance.web.forms import local_path, text
from appliance.web.shell import (LANG_COOKIE, remember_language, render, request_language,
                                  translator)

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def start_session(request: web.Request, target: str) -> web.HTTPException:
    """Sign the browser in; return the redirect to `target` that carries its cookie."""
    core = request.config_dict[keys.CORE]
    token, _session = await core.sessions.create(
        user_agent=request.headers.get("User-Agent", ""), address=request.remote or "")
    response = web.HTTPSeeOther(local_path(target))
    set_session_cookie(request, response, token,
                       request.config_dict[keys.SETTINGS].session_days * 86400)
    return response


@routes.get("/healthz")
@always_open
async def healthz(request: web.Request) -> web.Response:
    """Say the daemon serves, and whether the owner's data is in reach (for monitors).

    No version: anyone on the network may ask, and a version tells an attacker which
    flaws to try (the owner reads it in Settings).
    """
    core = request.config_dict[keys.CORE]
    return web.json_response({"status": "ok",
                              "data": "ok" if core.available else "unavailable"})


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """Show the installed services."""
    return render("home.html", request)


@routes.get("/welcome")
@public
async def welcome(request: web.Request) -> web.StreamResponse:
    """Show onboarding, only while the box has no owner."""
    if request.config_dict[keys.CORE].owner.onboarded:
        raise web.HTTPSeeOther("/")
    return render("welcome.html", request, {"error": None, "name": "hearth", "chosen": None})


@routes.post("/welcome")
@public
async def welcome_post(request: web.Request) -> web.StreamResponse:
    """Set the box up and sign the owner in."""
    core = request.config_dict[keys.CORE]
    if core.owner.onboarded:
        raise web.HTTPSeeOther("/")
    form = await request.post()
    _ = translator(request)
    passphrase, again = text(form, "passphrase"), text(form, "passphrase2")
    name, language = text(form, "name", limit=64), text(form, "language", limit=8)
    error = None
    if passphrase != again:
        error = _("The two passphrases differ. Type the same one twice.")
    else:
        try:
            await core.owner.onboard(passphrase=passphrase, name=name or "hearth",
                                     language=language)
        except OwnerError as exc:
            error = exc.said(_)
    if error:
        return render("welcome.html", request, {"error": error, "name": name,
                                                "chosen": language}, status=400)
    logger.info("the box %s is set up", core.owner.name)
    response = await start_session(request, "/")
    _remember_browser(request, response)
    response.del_cookie(LANG_COOKIE, path="/")
    raise response


@routes.get("/login")
@public
async def login(request: web.Request) -> web.StreamResponse:
    """Show the sign-in form."""
    core = request.config_dict[keys.CORE]
    if not core.owner.onboarded:
        raise web.HTTPSeeOther("/welcome")
    if identity(request) is not None:
        raise web.HTTPSeeOther(local_path(request.query.get("next", "/")))
    return render("login.html", request, {"error": None,
                                          "next": local_path(request.query.get("next", "/"))})


def _known_browser_key(request: web.Request) -> bytes:
    return Keyring(request.config_dict[keys.SETTINGS].system).key_for(KEY_PURPOSE)


def _known_browser(request: web.Request) -> bool:
    token = request.cookies.get(KNOWN_BROWSER_COOKIE)
    return bool(token) and is_known_browser(_known_browser_key(request), str(token),
                                            request.config_dict[keys.PLATFORM].clock())


def _remember_browser(request: web.Request, response: web.StreamResponse) -> None:
    token = known_browser_token(_known_browser_key(request),
                                request.config_dict[keys.PLATFORM].clock())
    response.set_cookie(KNOWN_BROWSER_COOKIE, token, max_age=KNOWN_BROWSER_DAYS * 86400,
                        httponly=True, samesite="Strict", secure=request.secure, path="/login")


@routes.post("/login")
@public
async def login_post(request: web.Request) -> web.StreamResponse:
    """Check the passphrase, rationed per client and for all (tests/web/test_login_throttle.py)."""
    core = request.config_dict[keys.CORE]
    throttle = request.app[keys.THROTTLE]
    form = await request.post()
    _ = translator(request)
    target = local_path(text(form, "next"))
    client = request.remote or "?"
    try:
        attempt = throttle.reserve(client, known=_known_browser(request))
    except Throttled as refused:
        error = _("Too many wrong passphrases. Wait %(seconds)d seconds, then try again.",
                  seconds=refused.seconds)
        response = render("login.html", request, {"error": error, "next": target}, status=429)
        response.headers["Retry-After"] = str(refused.seconds)
        return response
    with attempt:
        if await core.owner.check_passphrase(text(form, "passphrase")):
            attempt.succeeded()
            logger.info("owner signed in from %s", client)
            signed_in = await start_session(request, target)
            _remember_browser(request, signed_in)
            raise signed_in
    logger.warning("wrong passphrase from %s", client, extra={"hearth_client": client})
    error = _("Wrong passphrase.")
    if attempt.delay > 0:
        error += " " + _("Wait %(seconds)d seconds before the next try.",
                         seconds=int(attempt.delay + 0.999))
    return render("login.html", request, {"error": error, "next": target}, status=401)


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End this browser's session."""
    who = identity(request)
    if who is not None and who.session is not None:
        await request.config_dict[keys.CORE].sessions.end(who.session.id)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.post("/lang")
@public
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Switch this browser's language (and the box's, for its owner)."""
    form = await request.post()
    lang = text(form, "language", limit=8)
    if lang not in LANGUAGES:
        raise UserError(N_("Choose English or French."))
    who = identity(request)
    if who is not None and who.session is not None:
        await request.config_dict[keys.CORE].owner.update(language=lang)
    response = web.HTTPSeeOther(local_path(text(form, "next")))
    remember_language(request, response, lang)
    raise response


@routes.get("/notifications")
async def notifications(request: web.Request) -> web.Response:
    """List the notifications, newest first."""
    core = request.config_dict[keys.CORE]
    return render("notifications.html", request, {"notes": core.notifications.list()})


@routes.post("/notifications/read")
async def notifications_read(request: web.Request) -> web.StreamResponse:
    """Mark one notification, or all of them, as read."""
    core = request.config_dict[keys.CORE]
    form = await request.post()
    note = text(form, "id", limit=128)
    if note:
        await core.notifications.mark_read(note)
    else:
        await core.notifications.mark_all_read()
    raise web.HTTPSeeOther("/notifications")


__all__ = ["routes", "start_session", "request_language"]
