"""Onboarding's second path, "I have a backup": move a whole Hearth onto this fresh box."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from appliance import keys
from appliance.web.guard import public
from appliance.backup.box.backupbox import BackupBox
from appliance.backup.box.backupstatus import MOVE, Status
from appliance.backup.box.operation import Busy
from appliance.keys import BACKUPS
from appliance.backup.box.where import WhereError, mount_of, usable
from appliance.web.forms import text
from appliance.i18n import N_
from appliance.web.shell import render, translator
from appliance.web.storage_page import describe, sizes_for

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()
PAGE = "/welcome/restore"


def _moving(box: BackupBox) -> bool:
    return box.status.action == MOVE and box.status.running


async def _page(request: web.Request, box: BackupBox, *, error: str | None = None,
                status: int = 200) -> web.Response:
    platform = request.config_dict[keys.PLATFORM]
    disks = [d for d in await asyncio.to_thread(platform.disks.list) if usable(d, None)]
    context: dict[str, Any] = {
        "disks": disks, "describe": lambda d: describe(request, d), "error": error,
        "size": sizes_for(request),
        "folders": platform.helper is None,
        "status": box.status if box.status.action == MOVE else None}
    return render("welcome_restore.html", request, context, status=status)


@routes.get(PAGE)
@public
async def restore_page(request: web.Request) -> web.StreamResponse:
    """Ask for the backup disk and the recovery key; show the move's progress."""
    box = request.config_dict[BACKUPS]
    if not _moving(box) and request.config_dict[keys.CORE].owner.onboarded and \
            box.status.action != MOVE:
        raise web.HTTPSeeOther("/")
    return await _page(request, box)


@routes.post(PAGE)
@public
async def restore_start(request: web.Request) -> web.StreamResponse:
    """Open the backup with the recovery key, then restore everything onto this box."""
    box = request.config_dict[BACKUPS]
    if request.config_dict[keys.CORE].owner.onboarded:
        raise web.HTTPSeeOther("/")  # a box with an owner is never overwritten from here
    form = await request.post()
    _ = translator(request)
    platform = request.config_dict[keys.PLATFORM]
    uuid, folder = text(form, "uuid", limit=200), text(form, "folder", limit=4096)
    key = text(form, "key", limit=200)
    try:
        if uuid:
            disks = await asyncio.to_thread(platform.disks.list)
            disk = next((d for d in disks if d.uuid == uuid), None)
            if disk is None:
                raise WhereError(N_("That disk is no longer plugged in. Reload the page."))
            root = await mount_of(platform, disk)
        elif folder and platform.helper is None and Path(folder).is_absolute():
            root = Path(folder)
        else:
            raise WhereError(N_("Choose the backup disk."))
        if not key.strip():
            raise WhereError(N_("Type the recovery key from your emergency kit."))
        repo = await box.open_backup(root, key)
        box.start_move(repo)
    except WhereError as exc:
        return await _page(request, box, error=exc.said(_), status=400)
    except Busy as exc:
        return await _page(request, box, error=exc.said(_), status=exc.status)
    logger.info("moving a Hearth onto this box from %s", root)
    raise web.HTTPSeeOther(PAGE)


@routes.get(PAGE + "/status")
@public
async def restore_status(request: web.Request) -> web.Response:
    """Say how far the move is (nothing else: anyone on the network may ask).

    Only while the box has no owner, or for the move that gave it one (its page waits
    for the end): once onboarded, a visitor learns nothing here.
    """
    box = request.config_dict[BACKUPS]
    if request.config_dict[keys.CORE].owner.onboarded and box.status.action != MOVE:
        raise web.HTTPNotFound()
    status = box.status if box.status.action == MOVE else Status()
    return web.json_response(status.as_json(translator(request), sizes_for(request)),
                             headers={"Cache-Control": "no-store"})
