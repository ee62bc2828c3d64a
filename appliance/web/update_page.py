"""Settings › Update: receive a signed wheel for the box's updater, and say how it went.

What the daemon does with the upload is appliance.updater.upload's; this module
reads the request and words the updater's status for the owner.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import MultipartReader, web

import appliance
from appliance import keys
from appliance.i18n import N_
from appliance.settings import Settings
from appliance.updater.status import UpdateStatus
from appliance.updater import upload
from appliance.updater.upload import NOT_A_FORM, UploadError, current_status, has_updater

MESSAGES = {
    "idle": N_("No update was installed from this page yet."),
    "waiting": N_("Hearth %(version)s is uploaded and waits for the box's updater."),
    "installing": N_("Installing Hearth %(version)s… The box restarts; this page reloads "
                     "itself."),
    "done": N_("Hearth %(version)s was installed."),
    "rolled-back": N_("Hearth %(version)s did not start and was undone; %(previous)s runs "
                      "again."),
}
REFUSED = {
    "signature": N_("Hearth %(version)s was refused: it is not signed by a key this box "
                    "trusts. Nothing was changed."),
    "older": N_("Hearth %(version)s was refused: it is not newer than the version "
                "running. Nothing was changed."),
    "install": N_("Hearth %(version)s was refused: it did not install. Nothing was "
                  "changed."),
    "files": N_("Hearth %(version)s was refused: its files could not be read safely. "
                "Nothing was changed."),
    "interrupted": N_("Hearth %(version)s was not installed: the box stopped during the "
                      "update. Nothing was changed; send it again."),
}


def describe(status: UpdateStatus, _: Callable[..., str]) -> str:
    """Return the status in the owner's words."""
    if status.state == "refused":
        return _(REFUSED.get(status.reason, REFUSED["files"]), version=status.version)
    if status.state == "idle":
        return _(MESSAGES["idle"])
    return _(MESSAGES[status.state], version=status.version, previous=status.previous)


async def status_json(settings: Settings, _: Callable[..., str]) -> dict[str, Any]:
    """Return the status route's answer."""
    status = await asyncio.to_thread(current_status, settings)
    return {"running": appliance.__version__, "state": status.state,
            "version": status.version, "message": describe(status, _), "at": status.at}


async def page_context(settings: Settings, _: Callable[..., str]) -> dict[str, Any]:
    """Return what the settings page's Update section shows."""
    available = await asyncio.to_thread(has_updater, settings)
    return {"update": {"available": available, **await status_json(settings, _)}}


async def receive(request: web.Request) -> None:
    """Hand the update uploaded with this request to the updater; UploadError if refused."""

    async def open_parts() -> MultipartReader:
        reader: MultipartReader | None = request.get(keys.MULTIPART)  # begun by the guard
        if reader is not None:
            return reader
        try:
            return await request.multipart()
        except (AssertionError, ValueError):  # not multipart/form-data at all
            raise UploadError(NOT_A_FORM) from None
    await upload.receive(request.config_dict[keys.SETTINGS], open_parts)
