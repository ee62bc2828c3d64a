"""The one error middleware: a refusal or a failure told in the visitor's language.

A browser gets a page inside the shell; the data API (/data/), WebDAV (/dav/) and
any client that doesn't ask for HTML get JSON, `{"error": "…"}`. User errors
(appliance.errors.UserError) carry their own message and status; aiohttp's bare
HTTP errors (an unknown address, a body too large) get the wording of their status.
"""
from __future__ import annotations

import json
import logging
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web

from appliance import keys
from appliance.web.guard import FormExpired, Handler, SignInFirst, Unavailable
from appliance.errors import UserError
from appliance.i18n import N_, from_accept_language
from appliance.web.shell import LANG_COOKIE, render, translator

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/data/", "/dav/", "/dav")
# What a browser's page says for an error that carries no sentence of its own.
STATUS_WORDS: dict[int, tuple[str, str]] = {
    400: (N_("That request can't be answered"),
          N_("Something in it is not as this box expects. Go back and try again.")),
    401: (N_("Sign in to go on"), N_("This page is for the owner of this box.")),
    403: (N_("Not allowed"), N_("This box refused to do that.")),
    404: (N_("Nothing here"),
          N_("There is no page at this address. It may have moved, or the link may be "
             "mistyped.")),
    405: (N_("That request can't be answered"),
          N_("This address doesn't take this kind of request.")),
    413: (N_("Too large"),
          N_("What was sent is larger than this box accepts. Send something smaller, or "
             "send it in several parts.")),
    500: (N_("Something went wrong"),
          N_("The box couldn't answer this request. Nothing you saved is lost; try again, "
             "and if it happens again, restart the box from Settings.")),
}
_OTHER = STATUS_WORDS[500]
_EXPIRED_HEADLINE = N_("This form has expired")
_UNAVAILABLE_HEADLINE = N_("Your data is out of reach")


def wants_json(request: web.Request) -> bool:
    """Return whether the client reads JSON rather than a page."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    return "text/html" not in request.headers.get(hdrs.ACCEPT, "")


def _same_site_referer(request: web.Request) -> str:
    """Return the path of the page the visitor came from on this box, or ""."""
    referer = urlsplit(request.headers.get(hdrs.REFERER, ""))
    if referer.netloc != request.host or not referer.path.startswith("/"):
        return ""
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _script_language(request: web.Request) -> None:
    """Let a script's Accept-Language outrank the box's language (a browser's cookie doesn't)."""
    asked = from_accept_language(request.headers.get(hdrs.ACCEPT_LANGUAGE, ""))
    if asked and wants_json(request) and LANG_COOKIE not in request.cookies:
        request[keys.LANGUAGE] = asked


def _json(request: web.Request, status: int, message: str,
          headers: dict[str, str]) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}),
                        content_type="application/json", headers=headers)


def _page(request: web.Request, status: int, headline: str, message: str,
          headers: dict[str, str], *, back: str = "", sign_in: bool = False,
          template: str = "error.html") -> web.Response:
    response = render(template, request, {
        "status": status, "headline": headline, "message": message, "problem": message,
        "back": back, "sign_in": "/login?next=" + quote(back or "/", safe="/") if sign_in
        else ""}, status=status)
    response.headers.update(headers)
    return response


def user_error_response(request: web.Request, exc: UserError) -> web.Response:
    """Return the answer to a user error: JSON, or a page inside the shell."""
    _script_language(request)
    _ = translator(request)
    message = exc.said(_)
    if wants_json(request):
        return _json(request, exc.status, message, exc.headers)
    if isinstance(exc, Unavailable):
        # the waiting page reloads itself: only where reloading asks nothing again
        if request.method in ("GET", "HEAD"):
            return _page(request, exc.status, "", _(exc.problem), exc.headers,
                         template="unavailable.html")
        return _page(request, exc.status, _(_UNAVAILABLE_HEADLINE), message, exc.headers)
    back = _same_site_referer(request)
    if isinstance(exc, FormExpired):
        return _page(request, exc.status, _(_EXPIRED_HEADLINE), message, exc.headers,
                     back=back or "/")
    if isinstance(exc, SignInFirst):
        headline, words = STATUS_WORDS[401]
        return _page(request, exc.status, _(headline), _(words), exc.headers, back=back,
                     sign_in=True)
    headline = _(STATUS_WORDS.get(exc.status, _OTHER)[0])
    return _page(request, exc.status, headline, message, exc.headers, back=back)


def status_response(request: web.Request, status: int,
                    headers: dict[str, str] | None = None) -> web.Response:
    """Return the answer to an error that has nothing to say but its status."""
    _script_language(request)
    _ = translator(request)
    headline, words = STATUS_WORDS.get(status, _OTHER)
    if wants_json(request):
        return _json(request, status, _(words), headers or {})
    return _page(request, status, _(headline), _(words), headers or {},
                 back=_same_site_referer(request))


def _is_bare(exc: web.HTTPException) -> bool:
    """Return whether aiohttp made this error with its own plain-text body."""
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return True  # raised by aiohttp itself, reading a body, with its English words
    return exc.status >= 400 and (exc.content_type or "text/plain") == "text/plain" \
        and exc.text in (None, "", f"{exc.status}: {exc.reason}")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer user errors and bare HTTP errors in the visitor's language; log failures."""
    try:
        return await handler(request)
    except UserError as exc:
        return user_error_response(request, exc)
    except web.HTTPException as exc:
        if not _is_bare(exc):
            raise
        headers = {k: v for k, v in exc.headers.items()
                   if k.lower() not in (hdrs.CONTENT_TYPE.lower(), hdrs.CONTENT_LENGTH.lower())}
        return status_response(request, exc.status, headers)
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return status_response(request, 500)
