"""Settings › Storage: the disks plugged in, the data disk, moving and ejecting."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from aiohttp import web

from appliance import keys
from appliance.datadisk.choice import SUPPORTED
from appliance.datadisk.problems import DataDiskError
from appliance.errors import UserError
from appliance.i18n import N_, size_in
from appliance.platform.disks import FS_NAMES, Disk
from appliance.web.forms import text
from appliance.web.shell import render, request_language, translator

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()
_MOVES: set[asyncio.Task[None]] = set()


async def _disks(request: web.Request) -> list[Disk]:
    return await asyncio.to_thread(request.config_dict[keys.PLATFORM].disks.list)


def sizes_for(request: web.Request) -> Callable[[int], str]:
    """Return a size formatter in the request's language ("64 GB", "64 Go")."""
    return size_in(request_language(request))


def describe(request: web.Request, disk: Disk) -> str:
    """Say what a disk is in the request's language: "SanDisk Ultra, 64 Go, exFAT, nom PHOTOS"."""
    _ = translator(request)
    content = FS_NAMES.get(disk.fstype, disk.fstype) or (
        _("%(table)s partition table", table=disk.table.upper()) if disk.table
        else _("no filesystem"))
    device = os.path.basename(disk.device)
    name = f"{disk.vendor} {disk.model}".strip() or (
        _("USB disk %(device)s", device=device) if disk.usb else _("disk %(device)s", device=device))
    words = [name, sizes_for(request)(disk.size), content]
    if disk.label:
        words.append(_("label %(label)s", label=disk.label))
    return ", ".join(words)


def _context(request: web.Request, disks: list[Disk]) -> dict[str, Any]:
    datadisk = request.config_dict[keys.DATADISK]
    choice = datadisk.choice
    return {"disks": disks, "state": datadisk.state(), "supported": SUPPORTED,
            "size_words": sizes_for(request), "describe": lambda d: describe(request, d),
            "data_uuid": choice.uuid if choice else None,
            "has_helper": request.config_dict[keys.PLATFORM].helper is not None}


async def _disk(request: web.Request, device: str) -> Disk:
    disk = next((d for d in await _disks(request) if d.device == device), None)
    if disk is None:
        raise UserError(N_("That disk is no longer plugged in. Reload the page."))
    return disk


@routes.get("/settings/storage")
async def storage(request: web.Request) -> web.Response:
    """Show the disks and where the data lives."""
    context = _context(request, await _disks(request))
    return render("storage.html", request, {**context, "error": None})


@routes.get("/settings/storage/panel")
async def panel(request: web.Request) -> web.Response:
    """Return the live part of the page, which the page fetches every few seconds."""
    return render("storage_panel.html", request, _context(request, await _disks(request)))


def _start_move(request: web.Request, disk: Disk, erase_size: int | None) -> None:
    core, datadisk = request.config_dict[keys.CORE], request.config_dict[keys.DATADISK]

    async def move() -> None:
        try:
            await datadisk.adopt(core, disk, erase_size=erase_size)
        except DataDiskError as exc:
            logger.error("the move to %s failed: %s", disk.describe(), exc)
    task = asyncio.create_task(move())
    _MOVES.add(task)
    task.add_done_callback(_MOVES.discard)


@routes.post("/settings/storage/adopt")
async def adopt(request: web.Request) -> web.StreamResponse:
    """Start moving the data to a disk as it is (its own files are left alone)."""
    form = await request.post()
    disk = await _disk(request, text(form, "device", limit=200))
    try:
        request.config_dict[keys.DATADISK].check_adoptable(disk)
    except DataDiskError as exc:
        context = _context(request, await _disks(request))
        return render("storage.html", request,
                      {**context, "error": exc.said(translator(request))}, status=400)
    _start_move(request, disk, None)
    raise web.HTTPSeeOther("/settings/storage")


@routes.get("/settings/storage/erase")
async def erase_confirm(request: web.Request) -> web.Response:
    """Ask, naming the disk and its size, before erasing it."""
    disk = await _disk(request, request.query.get("device", ""))
    return render("storage_erase.html", request,
                  {"disk": disk, "size": sizes_for(request)(disk.size)})


@routes.post("/settings/storage/erase")
async def erase(request: web.Request) -> web.StreamResponse:
    """Erase a disk (ext4) and move the data onto it, once the owner confirmed."""
    form = await request.post()
    disk = await _disk(request, text(form, "device", limit=200))
    confirmed = text(form, "confirm", limit=8) == "yes"
    size = text(form, "expected_size", limit=24)
    if not confirmed or not size.isdigit():
        return render("storage_erase.html", request, {
            "disk": disk, "size": sizes_for(request)(disk.size),
            "error": translator(request)("Tick the box to confirm the disk may be erased.")},
            status=400)
    _start_move(request, disk, int(size))
    raise web.HTTPSeeOther("/settings/storage")


@routes.post("/settings/storage/eject")
async def eject(request: web.Request) -> web.Response:
    """Flush, unmount and power the data disk down."""
    _ = translator(request)
    try:
        said = await request.config_dict[keys.DATADISK].eject(request.config_dict[keys.CORE])
    except DataDiskError as exc:
        return render("storage.html", request, {**_context(request, await _disks(request)),
                                                "error": exc.said(_)}, status=400)
    return render("unavailable.html", request, {"problem": said})
