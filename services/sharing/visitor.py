"""The visitor's pages of a share link: the password, the file or folder, and downloads."""
from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from appliance.web.guard import public
from appliance.auth.throttle import LoginThrottle, Throttled
from appliance.files import FileEntry
from appliance.files.zipstream import ZipMember, folder_members, zip_stream
from appliance.services import ServiceContext
from appliance.web.disposition import content_disposition
from appliance.web.forms import text
from appliance.i18n import LANGUAGES, from_accept_language
from appliance.web.shell import LANG_COOKIE, answer_in, translator
from services.sharing.links import TOKEN_PATTERN, Doc, ShareLinks, unlock_key
from services.sharing.pages import day, page
from services.sharing.reach import (
    FILES_DOCTYPE,
    Unreachable,
    check_open,
    inside,
    relative_to,
    shared_item,
)

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What every visitor page and download says to the browser: no indexing, no referrer
# to other sites (the token is in the address; "no-referrer" would also make forms
# send "Origin: null", which the guard refuses), and a download never runs as a page.
_PAGE_HEADERS = {"Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex, nofollow"}
_FILE_HEADERS = {**_PAGE_HEADERS, "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-cache"}


def _speak_the_visitors_language(request: web.Request) -> None:
    """Answer a visitor in their browser's language, before the box's.

    A visitor is rarely of the household: the language the owner chose for the
    box comes only after the one their own browser asks for.
    """
    lang = request.cookies.get(LANG_COOKIE)
    if lang not in LANGUAGES:
        lang = from_accept_language(request.headers.get("Accept-Language", ""))
    if lang:
        answer_in(request, lang)


def _cookie_name(link: Doc) -> str:
    return f"hearth_share_{link['_id'][:16]}"


def routes(ctx: ServiceContext, links: ShareLinks) -> web.RouteTableDef:
    """Return the public routes under /s/<token>: nothing here writes to the owner's files."""
    table = web.RouteTableDef()
    base_path = f"/{{token:{TOKEN_PATTERN}}}"
    throttle = LoginThrottle(clock=ctx.clock)  # passwords, per link and client, and for all

    def visitor_page(handler: Handler) -> Handler:
        """Make a handler public and turn Unreachable into a page that says why."""
        async def visit(request: web.Request) -> web.StreamResponse:
            _speak_the_visitors_language(request)
            try:
                response = await handler(request)
            except Unreachable as exc:
                _ = translator(request)
                response = page("sharing/visitor_problem.html", request,
                                {"problem": _(exc.message, **exc.params)}, status=exc.status)
            for name, value in _PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            return response
        visit.__name__ = handler.__name__
        return public(visit)

    async def opened(request: web.Request) -> tuple[Doc, FileEntry]:
        """Return the link and its item; 404/410 if unusable (the password is checked apart)."""
        link = check_open(links.find(request.match_info["token"]), ctx.clock())
        entry = await shared_item(ctx.drive(), ctx.collections[FILES_DOCTYPE], link)
        return link, entry

    def unlocked(request: web.Request, link: Doc) -> bool:
        if not link["password"]:
            return True
        given = request.cookies.get(_cookie_name(link), "")
        return secrets.compare_digest(given.encode(), unlock_key(link).encode())

    def base(request: web.Request) -> str:
        return str(request.app.router["visit"].url_for(token=request.match_info["token"]))

    def ask_password(request: web.Request, link: Doc, error: str | None = None,
                     status: int = 200) -> web.Response:
        return page("sharing/visitor_password.html", request,
                    {"link": link, "error": error, "base": base(request)},
                    status=status)

    async def show(request: web.Request, link: Doc, root: FileEntry,
                   entry: FileEntry) -> web.Response:
        here = relative_to(root, entry)
        crumbs = []
        if here:
            parts = here.split("/")
            crumbs = [("/".join(parts[:i + 1]), part) for i, part in enumerate(parts)]
        items = await ctx.drive().list(entry.path) if entry.is_dir else []
        return page("sharing/visitor.html", request, {
            "link": link, "root": root, "entry": entry, "base": base(request), "here": here,
            "crumbs": crumbs, "items": [(i, relative_to(root, i)) for i in items],
            "expires": day(link["expires_at"]) if link["expires_at"] else None,
        })

    @table.get(base_path, name="visit")
    @visitor_page
    async def landing(request: web.Request) -> web.StreamResponse:
        """Show the shared file, or the shared folder's content (after the password)."""
        link, entry = await opened(request)
        if not unlocked(request, link):
            return ask_password(request, link)
        if request.method == "GET":
            await links.note(link, counter="visits", path=entry.path)
        return await show(request, link, entry, entry)

    @table.post(base_path)
    @visitor_page
    async def unlock(request: web.Request) -> web.StreamResponse:
        """Check a visitor's password, with growing waits after wrong ones."""
        link, _entry = await opened(request)
        if not link["password"]:
            raise web.HTTPSeeOther(base(request))
        _ = translator(request)
        client = f"{link['_id']}:{request.remote or '?'}"
        form = await request.post()  # before the reservation: a slow body holds no slot
        try:
            attempt = throttle.reserve(client)
        except Throttled as refused:
            response = ask_password(request, link, _(
                "Too many wrong passwords. Wait %(seconds)d seconds, then try again.",
                seconds=refused.seconds), status=429)
            response.headers["Retry-After"] = str(refused.seconds)
            return response
        with attempt:
            if await links.check_password(link, text(form, "password")):
                attempt.succeeded()
                response = web.HTTPSeeOther(base(request))
                response.set_cookie(_cookie_name(link), unlock_key(link), httponly=True,
                                    samesite="Lax", secure=request.secure,
                                    path=base(request))
                raise response
        logger.warning("wrong password for share link %s from %s", link["_id"], request.remote)
        error = _("Wrong password.")
        if attempt.delay > 0:
            error += " " + _("Wait %(seconds)d seconds before the next try.",
                             seconds=int(attempt.delay + 0.999))
        return ask_password(request, link, error, status=401)

    @table.get(base_path + "/in/{sub:.+}", name="visit_in")
    @visitor_page
    async def folder(request: web.Request) -> web.StreamResponse:
        """Show a folder inside a shared folder."""
        link, root = await opened(request)
        if not unlocked(request, link):
            raise web.HTTPSeeOther(base(request))
        entry = await inside(ctx.drive(), root, request.match_info["sub"])
        if not entry.is_dir:
            raise web.HTTPSeeOther(base(request) + "/download/" +
                                   quote(relative_to(root, entry)))
        return await show(request, link, root, entry)

    @table.get(base_path + "/download/{sub:.+}", name="download_in")
    @table.get(base_path + "/download", name="download")  # bottom first: registered first
    @visitor_page
    async def download(request: web.Request) -> web.StreamResponse:
        """Send the shared file (byte ranges too), or a folder as a zip made on the fly."""
        link, root = await opened(request)
        if not unlocked(request, link):
            raise web.HTTPSeeOther(base(request))
        sub = request.match_info.get("sub")
        entry = root if sub is None else await inside(ctx.drive(), root, sub)
        if request.method == "GET" and request.headers.get("Range", "bytes=0-") == "bytes=0-":
            await links.note(link, counter="downloads", path=root.path)
        if entry.is_dir:
            return await zipped(request, entry)
        real = await ctx.drive().locate(entry.path)
        return web.FileResponse(real, chunk_size=256 * 1024, headers={
            **_FILE_HEADERS, "Content-Disposition": content_disposition("attachment", entry.name),
            "Content-Type": entry.mime})

    async def zipped(request: web.Request, folder: FileEntry) -> web.StreamResponse:
        top = ZipMember(folder.name + "/", None, folder.updated_at)
        members = [top, *await folder_members(ctx.drive(), folder.path, top.name)]
        response = web.StreamResponse(headers={
            **_FILE_HEADERS, "Content-Type": "application/zip",
            "Content-Disposition": content_disposition("attachment", folder.name + ".zip")})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        chunks = zip_stream(members)
        try:
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    await response.write(chunk)
        except ConnectionResetError:  # the visitor cancelled: the zip stopped with it
            logger.info("a zip of %s was cancelled by the visitor", folder.path)
            return response
        await response.write_eof()
        return response

    return table
