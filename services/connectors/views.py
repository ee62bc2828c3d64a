"""The connectors pages: accounts (a form made from each manifest), runs, and answers."""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from appliance.errors import UserError
from appliance.i18n import N_
from appliance.jobs.accounts import RUNS_DOCTYPE, AccountError
from appliance.jobs.manifest import FieldError, Manifest
from appliance.jobs.scheduler import Scheduler
from appliance.keyring import KeyringError
from appliance.services import ServiceContext
from appliance.web.forms import text
from appliance.web.shell import render, translator
from services.connectors.messages import KINDS, RUN_STATES, STATES, explain
from services.connectors.woob_bridge.install import modules_dir
from services.connectors.woob_installs import Installs

INPUT_TYPES = {"password": "password", "email": "email", "url": "url"}


def _scheduler(ctx: ServiceContext) -> Scheduler:
    scheduler = ctx.scheduler()
    if scheduler is None or not scheduler.ready():
        raise UserError(N_("Connectors are not running on this box right now (the data disk "
                           "may be away). Try again in a moment."), status=503)
    return scheduler


def _manifest(scheduler: Scheduler, slug: str) -> Manifest:
    entry = scheduler.entries().get(slug)
    if entry is None:
        raise UserError(N_("There is no connector “%(slug)s” on this box."), status=404,
                        slug=slug)
    return entry.manifest


def _url(request: web.Request, name: str, **parts: str) -> str:
    return request.app.router[name].url_for(**parts).path


def _values(form: Any, manifest: Manifest) -> dict[str, str]:
    return {f.name: text(form, f.name, limit=4096) for f in manifest.fields}


def _form_fields(manifest: Manifest, account: dict[str, Any] | None,
                 typed: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for spec in manifest.fields:
        if spec.is_secret:
            value = ""  # a stored secret is never sent back to a browser
        elif typed is not None:
            value = typed.get(spec.name, "")
        elif account is not None:
            value = account["fields"].get(spec.name, "")
        else:
            value = spec.default
        stored = account is not None and spec.name in account.get("sealed", {})
        rows.append({"spec": spec, "value": value, "stored": stored,
                     "input": INPUT_TYPES.get(spec.type, "text")})
    return rows


RUN_DEFAULTS: dict[str, Any] = {"error": None, "message": "", "log": [], "saved": {},
                                "updated": {}, "files": 0, "duplicates": 0, "rejected": 0}


def _run_view(doc: dict[str, Any], live: Any = None) -> dict[str, Any]:
    run = {**RUN_DEFAULTS, **doc}
    if live is not None:
        out = live.outcome
        run.update(status=out.status, log=out.log, error=out.error, message=out.message,
                   **out.counts())
    return run


def _account_view(scheduler: Scheduler, account: dict[str, Any]) -> dict[str, Any]:
    live = scheduler.running(account["_id"])
    state = live.outcome.status if live is not None else account.get("state", "ok")
    entry = scheduler.entries().get(account["connector"])
    return {"doc": account, "state": state, "state_label": STATES.get(state, state),
            "explain": explain(account.get("error")) if live is None else None,
            "connector": entry.manifest if entry else None,
            "run_id": live.run_id if live else None}


def _woob_module(account: dict[str, Any]) -> str | None:
    """Return the woob module an account of the woob connector names (None for others)."""
    return account["fields"].get("module") or None if account["connector"] == "woob" else None


def build(ctx: ServiceContext) -> web.Application:
    """Return the connectors sub-application."""
    app = web.Application()
    routes = web.RouteTableDef()
    installs = Installs()

    async def stop_installs(_: web.Application) -> None:
        await installs.close()
    app.on_cleanup.append(stop_installs)

    async def woob_view(account: dict[str, Any]) -> dict[str, Any] | None:
        module = _woob_module(account)
        if module is None:
            return None
        place = await asyncio.to_thread(modules_dir, module, ctx.tools.system)
        return {"module": module, "installed": place is not None,
                "install": installs.get(module)}

    def account_of(request: web.Request, scheduler: Scheduler) -> dict[str, Any]:
        account = scheduler.accounts.get(request.match_info["id"])
        if account is None:
            raise UserError(N_("This account does not exist (any more)."), status=404)
        return account

    async def account_page(request: web.Request, scheduler: Scheduler, account: dict[str, Any],
                           *, error: str | None = None, typed: dict[str, str] | None = None,
                           status: int = 200) -> web.Response:
        view = _account_view(scheduler, account)
        woob = await woob_view(account)
        runs = [_run_view(doc, scheduler.live.get(doc["_id"])) for doc in
                ctx.collections[RUNS_DOCTYPE].find({"account": account["_id"]},
                                                   sort=[{"started_at": "desc"}], limit=30)]
        manifest = view["connector"]
        response = render("connectors/account.html", request, {
            "account": view, "runs": runs, "states": RUN_STATES, "error": error, "woob": woob,
            "kinds": KINDS,
            "fields": _form_fields(manifest, account, typed) if manifest else []},
            status=status)
        if woob and woob["install"] and woob["install"].status == "running":
            response.headers["Refresh"] = "2"  # follow the install without any script
        return response

    def form_error(request: web.Request, exc: FieldError | AccountError | KeyringError) -> str:
        if isinstance(exc, KeyringError):
            return str(exc)  # the box's own keyring is damaged: its path, for whoever repairs it
        return exc.said(translator(request))

    @routes.get("/", name="index")
    async def index(request: web.Request) -> web.Response:
        scheduler = _scheduler(ctx)
        accounts = [_account_view(scheduler, a) for a in scheduler.accounts.list()]
        return render("connectors/index.html", request, {
            "accounts": accounts, "connectors": [e.manifest for e in scheduler.entries().values()]})

    @routes.get("/new/{slug}")
    async def new(request: web.Request) -> web.Response:
        scheduler = _scheduler(ctx)
        manifest = _manifest(scheduler, request.match_info["slug"])
        return render("connectors/new.html", request, {
            "connector": manifest, "fields": _form_fields(manifest, None), "label": "",
            "error": None})

    @routes.post("/new/{slug}")
    async def create(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        manifest = _manifest(scheduler, request.match_info["slug"])
        form = await request.post()
        typed = _values(form, manifest)
        label = text(form, "label", limit=200)
        try:
            account = await scheduler.accounts.create(manifest, label, typed)
        except (FieldError, AccountError, KeyringError) as exc:
            return render("connectors/new.html", request, {
                "connector": manifest, "fields": _form_fields(manifest, None, typed),
                "label": label, "error": form_error(request, exc)}, status=400)
        scheduler.wake()
        raise web.HTTPSeeOther(_url(request, "account", id=account["_id"]))

    @routes.get("/accounts/{id}", name="account")
    async def show(request: web.Request) -> web.Response:
        scheduler = _scheduler(ctx)
        return await account_page(request, scheduler, account_of(request, scheduler))

    @routes.post("/accounts/{id}")
    async def update(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        account = account_of(request, scheduler)
        manifest = _manifest(scheduler, account["connector"])
        form = await request.post()
        typed = _values(form, manifest)
        try:
            await scheduler.accounts.update(manifest, account["_id"],
                                            text(form, "label", limit=200), typed)
        except (FieldError, AccountError, KeyringError) as exc:
            return await account_page(request, scheduler, account,
                                      error=form_error(request, exc), typed=typed, status=400)
        scheduler.wake()
        raise web.HTTPSeeOther(_url(request, "account", id=account["_id"]))

    @routes.post("/accounts/{id}/run")
    async def run_now(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        run_id = await scheduler.launch(account_of(request, scheduler)["_id"], "manual")
        raise web.HTTPSeeOther(_url(request, "run", id=run_id))

    @routes.post("/accounts/{id}/woob-install")
    async def woob_install(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        account = account_of(request, scheduler)
        module = _woob_module(account)
        if module is None:
            raise UserError(N_("This account does not use a woob module."))
        installs.start(module, ctx.tools.system, ctx.tools.woob_repository)
        raise web.HTTPSeeOther(_url(request, "account", id=account["_id"]))

    @routes.post("/accounts/{id}/delete")
    async def remove(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        await scheduler.remove(account_of(request, scheduler)["_id"])
        raise web.HTTPSeeOther(_url(request, "index"))

    @routes.get("/runs/{id}", name="run")
    async def show_run(request: web.Request) -> web.Response:
        scheduler = _scheduler(ctx)
        run_id = request.match_info["id"]
        live = scheduler.live.get(run_id)
        doc = ctx.collections[RUNS_DOCTYPE].get(run_id)
        if doc is None:
            raise UserError(N_("This run is not kept any more."), status=404)
        run = _run_view(doc, live)
        account = scheduler.accounts.get(doc["account"])
        question = live.outcome.question if live is not None else None
        response = render("connectors/run.html", request, {
            "run": run, "live": live is not None, "states": RUN_STATES, "question": question,
            "kinds": KINDS,
            "explain": explain(run.get("error")), "account": account})
        if live is not None and question is None:
            response.headers["Refresh"] = "2"  # follow the run without any script
        return response

    @routes.post("/runs/{id}/answer")
    async def answer(request: web.Request) -> web.StreamResponse:
        scheduler = _scheduler(ctx)
        form = await request.post()
        await scheduler.answer(request.match_info["id"], text(form, "answer", limit=200))
        raise web.HTTPSeeOther(_url(request, "run", id=request.match_info["id"]))

    app.router.add_routes(routes)
    return app
