"""The UI shell: templates, the context every page gets, and the request's language."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from appliance import keys
from appliance.web.guard import csrf_token, identity
from appliance.doctypes import is_web_link
from appliance.i18n import DEFAULT, LANGUAGES, from_accept_language

LANG_COOKIE = "hearth_lang"


def request_language(request: web.Request) -> str:
    """Return the language to answer in: this browser's choice, the box's, or the browser's."""
    cached = request.get(keys.LANGUAGE)
    if cached:
        return str(cached)
    lang = request.cookies.get(LANG_COOKIE)
    if lang not in LANGUAGES:
        lang = request.config_dict[keys.CORE].owner.language
    if lang not in LANGUAGES:
        lang = from_accept_language(request.headers.get("Accept-Language", "")) or DEFAULT
    request[keys.LANGUAGE] = lang
    return str(lang)


def answer_in(request: web.Request, lang: str) -> None:
    """Make every page of this request speak `lang` (a shared link's visitor's own)."""
    request[keys.LANGUAGE] = lang


def remember_language(request: web.Request, response: web.StreamResponse, lang: str) -> None:
    """Make this browser keep `lang` for a year."""
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                        secure=request.secure, path="/")


def translator(request: web.Request) -> Callable[..., str]:
    """Return `_`: translate a message for this request, then fill in its %(name)s."""
    catalog = request.config_dict[keys.CATALOGS].get(request_language(request))

    def _(message: str, **params: Any) -> str:
        text = catalog.gettext(message)
        return text % params if params else text
    return _


def ngettext_for(request: web.Request) -> Callable[..., str]:
    """Return a plural-aware translator: ngettext(singular, plural, n, **params)."""
    catalog = request.config_dict[keys.CATALOGS].get(request_language(request))

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
        return catalog.ngettext(singular, plural, n) % {"count": n, **params}
    return ngettext


def shell_context(request: web.Request) -> dict[str, Any]:
    """Return what every page's layout needs."""
    core = request.config_dict[keys.CORE]
    who = identity(request)
    signed_in = who is not None and who.session is not None
    return {
        "_": translator(request),
        "lang": request_language(request),
        "languages": LANGUAGES,
        "box_name": core.owner.name,
        "csrf": csrf_token(request),
        "signed_in": signed_in,
        "services": request.config_dict[keys.SERVICES],
        "unread": core.notifications.unread_count() if signed_in else 0,
        "path": request.path,
        "path_qs": request.path_qs,
        "ngettext": ngettext_for(request),
    }


def setup_templates(app: web.Application, extra_packages: tuple[str, ...]) -> None:
    """Give the app the shell's templates plus each service's own."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("appliance.web", "templates")]
    loaders += [jinja2.PackageLoader(pkg, "templates") for pkg in extra_packages]
    env = aiohttp_jinja2.setup(app, loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True)
    # `{% if x is web_link %}`: a stored value becomes a link only if a browser can't run it
    env.tests["web_link"] = is_web_link


def render(name: str, request: web.Request, context: Mapping[str, Any] | None = None, *,
           status: int = 200) -> web.Response:
    """Render a page inside the shell."""
    full = shell_context(request)
    full.update(context or {})
    response = aiohttp_jinja2.render_template(name, request, full, status=status)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
