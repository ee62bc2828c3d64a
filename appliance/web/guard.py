"""The one gate every request passes: who is asking, may they, and is it really them."""
from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from appliance import keys
from appliance.auth.devices import Device
from appliance.auth.sessions import Session
from appliance.auth.throttle import Throttled
from appliance.auth.tokens import Token
from appliance.errors import UserError
from appliance.i18n import N_

logger = logging.getLogger(__name__)

SESSION_COOKIE = "hearth_session"
ANON_CSRF_COOKIE = "hearth_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
F = TypeVar("F")


def public(handler: F) -> F:
    """Mark a route as deliberately open to anonymous visitors."""
    setattr(handler, "hearth_public", True)
    return handler


def always_open(handler: F) -> F:
    """Mark a public route that answers even while the owner's data is out of reach."""
    setattr(handler, "hearth_public", True)
    setattr(handler, "hearth_always_open", True)
    return handler


def device_access(handler: F) -> F:
    """Mark a route as reachable by a device with its app password (HTTP Basic: WebDAV)."""
    setattr(handler, "hearth_devices", True)
    return handler


def token_access(handler: F) -> F:
    """Mark a route as reachable with a scoped bearer token (the data API)."""
    setattr(handler, "hearth_tokens", True)
    return handler


@dataclass(frozen=True)
class Identity:
    """Who made a request: a signed-in browser, or a token."""

    session: Session | None = None
    token: Token | None = None
    device: Device | None = None


def identity(request: web.Request) -> Identity | None:
    """Return who made the request, or None for an anonymous visitor."""
    found: Identity | None = request.get(keys.IDENTITY)
    return found


def is_public(request: web.Request) -> bool:
    """Return whether the matched route is deliberately public."""
    info = request.match_info
    if info.http_exception is not None:
        return True  # 404/405 answers carry nothing to protect
    if isinstance(info.route.resource, web.StaticResource):
        return True
    return bool(getattr(info.handler, "hearth_public", False))


def csrf_token(request: web.Request) -> str:
    """Return the CSRF token a form on this page must carry."""
    who = identity(request)
    if who is not None and who.session is not None:
        return who.session.csrf
    token = request.cookies.get(ANON_CSRF_COOKIE) or request.get(keys.NEW_ANON_CSRF)
    if not token or len(token) > 64:
        token = secrets.token_urlsafe(24)
        request[keys.NEW_ANON_CSRF] = token
    return str(token)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str,
                       max_age: int) -> None:
    """Put the session token in an HttpOnly, SameSite cookie (Secure over HTTPS)."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True,
                        samesite="Lax", secure=request.secure, path="/")


def _wants_html(request: web.Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get(
        hdrs.ACCEPT, "")


class JsonError(web.HTTPError):
    """An HTTP error whose JSON body says what is wrong."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message, **extra}),
                         content_type="application/json")


def json_error(status: int, message: str, **extra: Any) -> web.HTTPException:
    """Return an HTTP error whose JSON body says what is wrong."""
    return JsonError(status, message, **extra)


class FormExpired(UserError):
    """A form came without this box's CSRF token: its page was old, or another site made it."""

    status = 403


class SignInFirst(UserError):
    """A private address asked by someone who is not signed in."""

    status = 401


class Unavailable(UserError):
    """The owner's data is out of reach (its disk is gone or the store failed)."""

    status = 503

    def __init__(self, problem: str) -> None:
        super().__init__(N_("%(problem)s Nothing was changed; try again once it is back."),
                         headers={"Retry-After": "10"}, problem=problem)
        self.problem = problem

    def said(self, translate: Callable[..., str]) -> str:
        """Return the message with the problem itself translated too."""
        return translate(self.message, problem=translate(self.problem))


async def _form_csrf(request: web.Request) -> str:
    if request.content_type == "multipart/form-data":
        return await _multipart_csrf(request)
    if request.content_type != "application/x-www-form-urlencoded":
        return ""
    form = await request.post()  # cached: the handler reads it again for free
    value = form.get(CSRF_FIELD, "")
    return value if isinstance(value, str) else ""


async def _multipart_csrf(request: web.Request) -> str:
    """Read the CSRF field a file form sends first; the handler streams the rest (the files)."""
    try:
        reader = await request.multipart()
        request[keys.MULTIPART] = reader
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != CSRF_FIELD:
            return ""
        value = b""
        while chunk := await part.read_chunk(256):
            value += chunk
            if len(value) > 256:  # a token is 32 characters; this is not one
                return ""
    # no boundary, a body that is not multipart, or part headers that break the format
    except (ValueError, AssertionError, HttpProcessingError):
        return ""
    return value.decode("ascii", errors="replace")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True  # not sent by older browsers and by non-browser clients
    return origin == f"{request.scheme}://{request.host}"


def _refuse_other_sites(request: web.Request) -> None:
    if not _same_origin(request):
        raise UserError(N_("This request came from another site and was refused."), status=403)


async def _check_csrf(request: web.Request, who: Identity | None) -> None:
    _refuse_other_sites(request)
    expected = who.session.csrf if who is not None and who.session is not None \
        else request.cookies.get(ANON_CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
    # compare_digest takes ASCII text only; a token never holds anything else
    if not expected or not given or not given.isascii() \
            or not secrets.compare_digest(expected, given):
        raise FormExpired(N_("This form has expired or did not come from this box. "
                             "Reload the page and try again."))


def _basic(auth: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def _ask_device_password() -> UserError:
    return UserError(N_("Give this device's name and its app password (Settings › Devices); "
                        "the passphrase of the box is not accepted here."), status=401,
                     headers={"WWW-Authenticate": 'Basic realm="Hearth", charset="UTF-8"'})


async def _who(request: web.Request) -> Identity | None:
    core = request.config_dict[keys.CORE]
    auth = request.headers.get(hdrs.AUTHORIZATION, "")
    if auth.lower().startswith("basic ") and \
            getattr(request.match_info.handler, "hearth_devices", False):
        credentials = _basic(auth)
        try:
            attempt = request.config_dict[keys.DEVICE_THROTTLE].reserve(request.remote or "?")
        except Throttled as refused:
            raise UserError(N_("Too many wrong device passwords. Wait %(seconds)d seconds, "
                               "then try again."), status=429,
                            headers={"Retry-After": str(refused.seconds)},
                            seconds=refused.seconds) from None
        with attempt:
            device = core.devices.verify(*credentials) if credentials else None
            if device is not None:
                attempt.succeeded()
        if device is None:
            raise _ask_device_password()
        return Identity(device=device)
    if auth.lower().startswith("bearer "):
        token = core.tokens.verify(auth[7:].strip())
        if token is None:
            raise UserError(N_("This token is unknown or was revoked."), status=401)
        return Identity(token=token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = core.sessions.lookup(cookie)
        if session is not None:
            if core.available:
                await core.sessions.touch(session)
            return Identity(session=session)
    return None


def _always_open(request: web.Request) -> bool:
    info = request.match_info
    return isinstance(info.route.resource, web.StaticResource) or \
        getattr(info.handler, "hearth_always_open", False)


def _refuse_anonymous(request: web.Request) -> web.HTTPException | UserError:
    if getattr(request.match_info.handler, "hearth_devices", False):
        return _ask_device_password()
    if _wants_html(request):
        if not request.config_dict[keys.CORE].owner.onboarded:
            return web.HTTPSeeOther("/welcome")
        return web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
    return SignInFirst(N_("Sign in first, or send a token: Authorization: Bearer …"))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse anonymous requests to private routes, tokens outside the data API, and CSRF.

    Refusals are user errors; the error middleware (appliance/web/errors.py) answers them.
    """
    core = request.config_dict[keys.CORE]
    if not core.available and not _always_open(request) and \
            not (core.readable and request.method in _SAFE):
        raise Unavailable(core.problem or "")
    who = await _who(request)
    request[keys.IDENTITY] = who
    handler_fn = request.match_info.handler
    if who is None and not is_public(request):
        raise _refuse_anonymous(request)
    if who is not None and who.token is not None:
        if not getattr(handler_fn, "hearth_tokens", False):
            raise UserError(N_("Tokens only open the data API (/data/…)."), status=403)
    elif who is not None and who.device is not None:
        # HTTP Basic carries no CSRF token, but a browser that cached a device's Basic
        # credentials sends them along with another site's form: refuse other sites.
        _refuse_other_sites(request)
    elif request.method not in _SAFE:
        await _check_csrf(request, who)
    response = await handler(request)
    new_anon = request.get(keys.NEW_ANON_CSRF)
    if new_anon and not response.prepared:
        response.set_cookie(ANON_CSRF_COOKIE, new_anon, httponly=True, samesite="Strict",
                            secure=request.secure, path="/")
    return response
