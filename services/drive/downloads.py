"""Downloads: a file from the disk (sendfile, ranges), a folder as a zip written on the fly."""
from __future__ import annotations

import contextlib
import logging

from aiohttp import web

from appliance.files import FileEntry, FilesError
from appliance.files.zipstream import folder_members, zip_stream
from appliance.services import ServiceContext
from appliance.web.disposition import content_disposition
from appliance.web.shell import translator
from services.drive.listing import preview_of
from services.drive.locations import DriveUrls, parent_of, path_in
from services.drive.pages import DrivePages
from services.drive.problems import problem
from services.drive.upkeep import Upkeep

logger = logging.getLogger(__name__)
# A file shown in the page must not run as part of the box's site (an SVG or a text file
# with a script in it): it gets a sandbox of its own. PDFs are left to the PDF viewer.
_SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; " \
           "style-src 'unsafe-inline'"


def routes(ctx: ServiceContext, upkeep: Upkeep) -> web.RouteTableDef:
    """Return the routes that send a file, or a folder as a zip."""
    table = web.RouteTableDef()
    pages = DrivePages(ctx, upkeep)

    async def found(request: web.Request) -> tuple[str, FileEntry]:
        path = path_in(request)
        return path, await ctx.drive().stat(path)

    async def refused(request: web.Request, exc: FilesError) -> web.Response:
        try:
            folder = parent_of(path_in(request))
        except FilesError:
            folder = "/"
        return await pages.folder(request, folder, problem(request, exc))

    @table.get("/file/{path:.+}", name="file")
    async def download(request: web.Request) -> web.StreamResponse:
        """Send a file: inline when the browser can show it, else (or ?download=1) to save."""
        tree = ctx.drive()
        try:
            path, entry = await found(request)
            if entry.is_dir:
                raise web.HTTPSeeOther(DriveUrls.of(request).folder(path))
            real = await tree.locate(path)
        except FilesError as exc:
            return await refused(request, exc)
        preview = preview_of(entry)
        inline = preview is not None and request.query.get("download") != "1"
        headers = {
            "Content-Type": entry.mime + ("; charset=utf-8" if preview == "text" else ""),
            "Content-Disposition": content_disposition("inline" if inline else "attachment",
                                                       entry.name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        }
        if inline and preview != "pdf":
            headers["Content-Security-Policy"] = _SANDBOX
        return web.FileResponse(real, chunk_size=256 * 1024, headers=headers)

    @table.get("/zip/{path:.*}", name="zip")
    async def zip_folder(request: web.Request) -> web.StreamResponse:
        """Send a folder as a zip, written while it is sent: no copy of it anywhere."""
        tree = ctx.drive()
        try:
            path, entry = await found(request)
            if not entry.is_dir:
                raise web.HTTPSeeOther(DriveUrls.of(request).file(path, download=True))
            members = await folder_members(tree, path)
        except FilesError as exc:
            return await refused(request, exc)
        name = entry.name or translator(request)("Drive")
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip",
            "Content-Disposition": content_disposition("attachment", name + ".zip"),
            "Cache-Control": "no-store"})
        await response.prepare(request)
        try:
            # closed at once if the browser goes away, so the writing thread stops too
            chunks = zip_stream(members)
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    await response.write(chunk)
        except ConnectionError:
            logger.info("the zip of %s stopped: the browser went away", path)
            return response
        await response.write_eof()
        return response

    return table
