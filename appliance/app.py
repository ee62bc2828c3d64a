"""create_app: the one place where Hearth is put together."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from appliance import api, keys, running
from appliance.auth.throttle import LoginThrottle
from appliance.handles import context_for
from appliance.i18n import Catalogs
from appliance.lan import Lan
from appliance.platform import Platform
from appliance.platform.disks import DiskEvents
from appliance.services import Service, discover
from appliance.settings import Settings
from appliance.web import https_page, move_page, pages, settings_page, storage_page
from appliance.web.errors import errors
from appliance.web.guard import guard
from appliance.web.headers import security_headers
from appliance.web.hosts import own_hosts_only
from appliance.web.shell import setup_templates

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings, *, platform: Platform | None = None,
               services: Sequence[Service] | None = None) -> web.Application:
    """Return the Hearth web application, with every route registered."""
    # the headers outermost, so every answer carries them; then the Host check before
    # anything is done (DNS rebinding); then errors: it answers what the guard and the
    # handlers refuse or fail
    app = web.Application(middlewares=[security_headers, own_hosts_only, errors, guard],
                          client_max_size=settings.max_body_kb * 1024)
    app[keys.SETTINGS] = settings
    app[keys.PLATFORM] = platform if platform is not None else Platform.for_settings(settings)
    app[keys.DISK_EVENTS] = DiskEvents(app[keys.PLATFORM].disks)
    app[keys.SERVICES] = tuple(services) if services is not None else discover()
    app[keys.THROTTLE] = LoginThrottle()
    app[keys.DEVICE_THROTTLE] = LoginThrottle()
    app[keys.CATALOGS] = Catalogs()
    app[keys.LAN] = Lan()
    setup_templates(app, tuple(s.templates for s in app[keys.SERVICES] if s.templates))
    app.router.add_routes(pages.routes)
    app.router.add_routes(settings_page.routes)
    app.router.add_routes(storage_page.routes)
    app.router.add_routes(https_page.routes)
    app.router.add_routes(move_page.routes)
    app.router.add_routes(api.routes)
    app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)
    installed = tuple(s.as_installed() for s in app[keys.SERVICES])
    for service in app[keys.SERVICES]:
        if service.routes is not None:
            app.add_subapp(service.prefix, service.routes(context_for(app, service, installed)))
    app.cleanup_ctx.append(running.core_ctx)
    app.cleanup_ctx.append(running.disks_ctx)  # before backups': they subscribe to its events
    app.cleanup_ctx.append(running.watchdog_ctx)
    app.cleanup_ctx.append(running.backups_ctx)  # after the core's: a run is interrupted before it closes
    app.cleanup_ctx.append(running.scheduler_ctx)  # after the core's: every run stops before it closes
    return app
