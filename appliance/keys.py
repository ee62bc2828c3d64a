"""Every key of the app's typed state, and the request keys the middlewares set."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.auth.throttle import LoginThrottle
from appliance.backup.box.backupbox import BackupBox
from appliance.core import Core
from appliance.datadisk.keeper import DataDisk
from appliance.jobs.scheduler import Scheduler
from appliance.lan import Lan
from appliance.platform import Platform
from appliance.platform.disks import DiskEvents
from appliance.services import Service
from appliance.settings import Settings
from appliance.i18n import Catalogs

SETTINGS = web.AppKey("settings", Settings)
PLATFORM = web.AppKey("platform", Platform)
SERVICES: web.AppKey[tuple[Service, ...]] = web.AppKey("services", tuple)
CORE = web.AppKey("core", Core)
THROTTLE = web.AppKey("throttle", LoginThrottle)  # the owner's passphrase
DEVICE_THROTTLE = web.AppKey("device_throttle", LoginThrottle)  # device passwords (WebDAV)
CATALOGS = web.AppKey("catalogs", Catalogs)
DATADISK = web.AppKey("datadisk", DataDisk)
DISK_EVENTS = web.AppKey("disk_events", DiskEvents)  # the one watch on the disks
LAN = web.AppKey("lan", Lan)
BACKUPS = web.AppKey("backups", BackupBox)  # services reach it through their context
SCHEDULER = web.AppKey("connector_scheduler", Scheduler)  # the same


def _request_key(name: str) -> Any:
    # web.RequestKey arrived in aiohttp 3.14; older ones take plain strings.
    maker = getattr(web, "RequestKey", None)
    return maker(name, object) if maker is not None else f"hearth.{name}"


IDENTITY = _request_key("identity")
LANGUAGE = _request_key("language")
NEW_ANON_CSRF = _request_key("new_anon_csrf")
MULTIPART = _request_key("multipart")  # a multipart body the guard began: it read the CSRF field
