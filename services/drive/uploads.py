"""Uploads: one streamed PUT per file, straight from the socket to the disk, and new folders."""
from __future__ import annotations

import asyncio
import logging
import shutil
from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.web.guard import json_error
from appliance.files import Exists, FileEntry, FilesError, NotFound
from appliance.files.names import parts
from appliance.services import ServiceContext
from appliance.web.shell import translator
from appliance.web.storage_page import sizes_for
from services.drive.locations import parent_of, path_in
from services.drive.problems import json_problem
from services.drive.upkeep import Upkeep

if TYPE_CHECKING:
    from appliance.files import FileTree

logger = logging.getLogger(__name__)
CHUNK = 256 * 1024  # at most this much is taken from the socket at a time


def described(entry: FileEntry) -> dict[str, Any]:
    """Return what a script needs to know of a saved file or folder."""
    return {"id": entry.id, "path": entry.path, "name": entry.name, "type": entry.type,
            "size": entry.size, "mime": entry.mime, "etag": entry.etag}


async def make_folders(tree: FileTree, folder: str) -> None:
    """Create `folder` and the folders above it that are missing (uploads of whole folders)."""
    try:
        if (await tree.stat(folder)).is_dir:
            return
    except NotFound:
        pass
    here = ""
    for name in parts(folder):
        here += "/" + name
        try:
            await tree.mkdir(here)
        except Exists:
            pass  # made by a parallel upload, or a file: then the write says so


async def _check_room(request: web.Request, tree: FileTree) -> None:
    """Refuse at once a file larger than the free space, rather than after sending it all."""
    size = request.content_length
    if not size:
        return
    free = (await asyncio.to_thread(shutil.disk_usage, await tree.locate("/"))).free
    if size > free:
        _, words = translator(request), sizes_for(request)
        raise json_error(507, _("The data disk is full. This file needs %(size)s and only "
                                "%(free)s is free: empty the trash or delete big files, then "
                                "try again.", size=words(size), free=words(free)),
                         kind="NoSpace")


def routes(ctx: ServiceContext, upkeep: Upkeep) -> web.RouteTableDef:
    """Return the routes that save files and make folders (JSON, for the page's script)."""
    table = web.RouteTableDef()

    @table.put("/api/files/{path:.+}", name="api_files")
    async def upload(request: web.Request) -> web.Response:
        """Save the request's body as the file at path (?overwrite=1 to replace one)."""
        tree = ctx.drive()
        try:
            path = path_in(request)
            await _check_room(request, tree)
            await make_folders(tree, parent_of(path))
            entry = await tree.write(path, request.content.iter_chunked(CHUNK),
                                     overwrite=request.query.get("overwrite") == "1",
                                     if_match=request.headers.get("If-Match"),
                                     max_size=request.content_length)
        except FilesError as exc:
            raise json_problem(request, exc) from None
        except ConnectionError:
            # The tab was closed or the network dropped: the file tree kept nothing.
            logger.info("the upload of /%s stopped before its end; nothing was kept",
                        request.match_info["path"])
            return web.Response(status=400)
        finally:
            upkeep.changed()
        logger.info("uploaded %s (%d bytes)", entry.path, entry.size)
        return web.json_response(described(entry), status=201)

    @table.post("/api/folders/{path:.+}")
    async def new_folder(request: web.Request) -> web.Response:
        """Create a folder and the ones above it (an empty folder dropped into the page)."""
        tree = ctx.drive()
        try:
            path = path_in(request)
            await make_folders(tree, path)
            entry = await tree.stat(path)
            if not entry.is_dir:
                raise Exists(f"{path!r} is a file; pick another name for the folder")
        except FilesError as exc:
            raise json_problem(request, exc) from None
        return web.json_response(described(entry), status=201)

    return table
