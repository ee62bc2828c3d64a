"""The backup pages: set up, the emergency kit, back up now, snapshots, restore, check."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from appliance.backup.box.backupbox import BackupBox
from appliance.backup.box.backupplan import DISK, FOLDER, Target
from appliance.backup.box.operation import Busy
from appliance.backup.box.where import WhereError, instance_id, usable
from appliance.backup.box.words import said
from appliance.backup.engine import recovery
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.platform.disks import Disk
from appliance.services import ServiceContext
from appliance.web.disposition import content_disposition
from appliance.web.forms import text
from appliance.web.shell import render, translator
from appliance.web.storage_page import describe, sizes_for


def _box(ctx: ServiceContext) -> BackupBox:
    box = ctx.backups()
    if box is None:
        raise UserError(N_("Backups are not running on this box right now."), status=503)
    return box


def _url(request: web.Request, name: str = "index", **parts: str) -> str:
    return str(request.app.router[name].url_for(**parts))


async def _disks(ctx: ServiceContext) -> list[Disk]:
    datadisk = ctx.disks.data_disk_uuid()
    return [d for d in await ctx.disks.plugged() if usable(d, datadisk)]


def _count(text_: str) -> int | None:
    return int(text_) if text_.isdigit() and int(text_) <= 1000 else None


def build(ctx: ServiceContext) -> web.Application:
    """Return the backup service's sub-application."""
    app = web.Application()
    routes = web.RouteTableDef()

    async def index_page(request: web.Request, *, error: str | None = None,
                         status: int = 200) -> web.Response:
        box = _box(ctx)
        plan = box.plan
        snapshots, away = [], None
        if plan.ready and plan.kit_confirmed:
            try:
                snapshots = await box.snapshots()
            except WhereError as exc:
                away = exc.said(translator(request))
        return render("backup/index.html", request, {
            "plan": plan, "status": box.status, "busy": box.busy(), "error": error,
            "away": away, "snapshots": snapshots,
            "disks": [] if plan.target else await _disks(ctx),
            "describe": lambda d: describe(request, d), "size": sizes_for(request), "said": said,
            "folders": not ctx.disks.privileged(),
            "link": lambda name="index", **p: _url(request, name, **p)}, status=status)

    @routes.get("/", name="index")
    async def index(request: web.Request) -> web.Response:
        return await index_page(request)

    @routes.post("/setup", name="setup")
    async def setup(request: web.Request) -> web.StreamResponse:
        box, form = _box(ctx), await request.post()
        _ = translator(request)
        uuid, folder = text(form, "uuid", limit=200), text(form, "folder", limit=4096)
        if uuid:
            disk = next((d for d in await _disks(ctx) if d.uuid == uuid), None)
            if disk is None:
                return await index_page(request, error=_(
                    "That disk is no longer plugged in. Reload the page."), status=400)
            target = Target(DISK, describe(request, disk), uuid=uuid)
        elif folder and not ctx.disks.privileged():
            if not Path(folder).is_absolute():
                return await index_page(request, error=_(
                    "Give the folder's full path, like /media/backups."), status=400)
            target = Target(FOLDER, folder, path=folder)
        else:
            return await index_page(request, error=_("Choose a disk."), status=400)
        try:
            await box.set_up(target)
        except WhereError as exc:
            return await index_page(request, error=exc.said(_), status=400)
        except Busy as exc:
            return await index_page(request, error=exc.said(_), status=exc.status)
        raise web.HTTPSeeOther(_url(request, "kit"))

    async def kit_key(request: web.Request) -> str:
        plan = _box(ctx).plan
        if not plan.sealed_key or plan.kit_confirmed:
            raise web.HTTPSeeOther(_url(request))  # the kit is shown until kept, then never
        return recovery.display(await asyncio.to_thread(_box(ctx).recovery_key))

    async def kit_page(request: web.Request, error: str | None = None,
                       status: int = 200) -> web.Response:
        key = await kit_key(request)
        box = _box(ctx)
        return render("backup/kit.html", request, {
            "key": key, "plan": box.plan, "made": ctx.clock(), "error": error,
            "instance": await asyncio.to_thread(instance_id, box.core.data_dir),
            "link": lambda name="index", **p: _url(request, name, **p)}, status=status)

    @routes.get("/kit", name="kit")
    async def kit(request: web.Request) -> web.Response:
        return await kit_page(request)

    @routes.get("/kit.txt", name="kit_file")
    async def kit_file(request: web.Request) -> web.Response:
        key = await kit_key(request)
        _ = translator(request)
        box = _box(ctx)
        body = "\n".join([
            _("Hearth emergency kit"), "",
            _("Recovery key: %(key)s", key=key),
            _("Backups on: %(where)s", where=box.plan.target.name if box.plan.target else ""),
            _("Box: %(name)s", name=box.core.owner.name), "",
            _("Keep this away from the box. With the backup disk and this key, a new box "
              "gets everything back (Welcome › I have a backup). Without the key nobody, "
              "not even you, can read the backups."), ""])
        return web.Response(text=body, content_type="text/plain", headers={
            "Content-Disposition": content_disposition("attachment", "hearth-emergency-kit.txt"),
            "Cache-Control": "no-store"})

    @routes.post("/kit", name="kit_kept")
    async def kit_kept(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        _ = translator(request)
        if text(form, "kept", limit=8) != "yes":
            return await kit_page(request, _("Tick the box once the kit is printed or saved."),
                                  400)
        await _box(ctx).confirm_kit()
        raise web.HTTPSeeOther(_url(request))

    def start(request: web.Request, task: Callable[[BackupBox], object]) -> None:
        box = _box(ctx)
        if not (box.plan.ready and box.plan.kit_confirmed):
            raise web.HTTPSeeOther(_url(request))
        task(box)  # Busy if a task runs: the error page says to wait

    @routes.post("/run", name="run")
    async def run(request: web.Request) -> web.StreamResponse:
        start(request, lambda box: box.start_backup("by hand"))
        raise web.HTTPSeeOther(_url(request))

    @routes.post("/check", name="check")
    async def check(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        # every: read every piece of every pack (slower), not only the structure
        every = text(form, "every", limit=8) == "yes"
        start(request, lambda box: box.start_check(every))
        raise web.HTTPSeeOther(_url(request))

    @routes.get("/status", name="status")
    async def status(request: web.Request) -> web.Response:
        return web.json_response(_box(ctx).status.as_json(translator(request),
                                                             sizes_for(request)),
                                 headers={"Cache-Control": "no-store"})

    @routes.post("/retention", name="retention")
    async def retention(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        counts = [_count(text(form, n, limit=8)) for n in ("daily", "weekly", "monthly")]
        _ = translator(request)
        if any(c is None for c in counts):
            return await index_page(request, error=_("Give whole numbers from 0 to 1000."),
                                    status=400)
        await _box(ctx).set_policy(*(c or 0 for c in counts))
        raise web.HTTPSeeOther(_url(request))

    @routes.get("/snapshots/{id}", name="snapshot")
    async def snapshot(request: web.Request) -> web.Response:
        path = request.query.get("path", "").strip("/")
        try:
            snap, entries = await _box(ctx).listing(request.match_info["id"], path)
        except WhereError as exc:
            return await index_page(request, error=exc.said(translator(request)), status=404)
        parts = [p for p in path.split("/") if p]
        return render("backup/snapshot.html", request, {
            "snapshot": snap, "path": path, "entries": sorted(entries, key=lambda e: (
                e["type"] != "dir", e["name"].lower())),
            "crumbs": [("/".join(parts[:n + 1]), p) for n, p in enumerate(parts)],
            "size": sizes_for(request),
            "link": lambda name="index", **p: _url(request, name, **p)})

    @routes.post("/snapshots/{id}/restore", name="restore")
    async def restore(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        path = text(form, "path", limit=4096).strip("/")
        if not path:
            raise UserError(N_("Choose what to restore."))
        start(request, lambda box: box.start_restore(request.match_info["id"], path))
        raise web.HTTPSeeOther(_url(request))

    app.router.add_routes(routes)
    return app
