"""Settings › Update: receive a signed wheel for the box's updater, and say how it went.

The daemon cannot install anything (it runs unprivileged). It checks the upload
at once, so that the owner hears of a wrong file on the page, then hands it to
the root updater (hearth-update.service) through SYSTEM/updates/pending/, and
reads the updater's status file to follow it.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

import appliance
from appliance import keys
from appliance.durable import place
from appliance.settings import Settings
from appliance.update_status import (MAX_UPDATE_BYTES, SIGNATURE_SUFFIX, UpdateStatus,
                                     is_newer, read_status, version_key,
                                     wheel_version)
from appliance.i18n import N_

CHUNK = 1 << 16

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
NOT_A_FORM = N_("This form could not be read. Reload the page and try again.")
NOT_AN_UPDATE = N_("%(name)s is not a Hearth update. Choose the two files "
                   "hearthbox-VERSION-py3-none-any.whl and the same name ending in .sig.")
TOO_LARGE = N_("The files are larger than %(size)d MiB: this is not a Hearth update. "
               "Nothing was changed.")
CHOOSE_BOTH = N_("Choose the two files of one update: the .whl and its signature, the "
                 ".whl.sig. Nothing was changed.")
UNSIGNED = N_("%(name)s is not signed by a key this box trusts. Nothing was changed.")
NOT_NEWER = N_("Hearth %(version)s is not newer than the version running (%(running)s). "
               "Nothing was changed.")
NO_UPDATER = N_("Updates are applied by the box's updater, and this Hearth has none. "
                "Nothing was changed.")


class UploadError(Exception):
    """An upload was refused; carries the message (a msgid) and its values."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def pending_dir(settings: Settings) -> Path:
    """Return the folder the root updater watches (hearth-update.path)."""
    return settings.system / "updates" / "pending"


def has_updater(settings: Settings) -> bool:
    """Return whether this box takes updates: it has keys to check them with."""
    return settings.update_keys.is_dir() and any(settings.update_keys.glob("*.pem"))


def current_status(settings: Settings) -> UpdateStatus:
    """Return where the last update stands, counting one still waiting in pending/."""
    status = read_status(settings.update_status)
    try:
        names = os.listdir(pending_dir(settings))
    except OSError:
        return status
    waiting = [v for n in names if n.endswith(SIGNATURE_SUFFIX)
               if (v := wheel_version(n[:-len(SIGNATURE_SUFFIX)])) is not None]
    if not waiting:
        return status
    newest = max(waiting, key=version_key)
    if status.state == "installing" and status.version == newest:
        return status  # picked up: the updater clears pending/ once it has its copy
    return replace(status, state="waiting", version=newest, reason="", detail="", at=0.0)


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
    """Take an uploaded update, check it, and hand it to the root updater; UploadError if not."""
    settings = request.config_dict[keys.SETTINGS]
    if not await asyncio.to_thread(has_updater, settings):
        raise UploadError(NO_UPDATER)
    updates = pending_dir(settings).parent
    await asyncio.to_thread(updates.mkdir, parents=True, exist_ok=True)
    incoming = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=updates, prefix="incoming-"))
    try:
        names = await _save_parts(request, incoming)
        wheel = await asyncio.to_thread(_check, incoming, names, settings.update_keys)
        await asyncio.to_thread(_hand_over, incoming, wheel, pending_dir(settings))
    finally:
        await asyncio.to_thread(shutil.rmtree, incoming, True)


async def _save_parts(request: web.Request, folder: Path) -> list[str]:
    """Stream each uploaded file to disk (never whole in memory); return their names."""
    reader = request.get(keys.MULTIPART)
    if reader is None:
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError):  # not multipart/form-data at all
            raise UploadError(NOT_A_FORM) from None
    try:
        return await _save_each(reader, folder)
    except (ValueError, HttpProcessingError):  # a body that breaks the multipart format
        raise UploadError(NOT_A_FORM) from None


async def _save_each(reader: MultipartReader, folder: Path) -> list[str]:
    """Write each file part to folder, refusing what is not an update's file or too big."""
    names: list[str] = []
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise UploadError(NOT_A_FORM)
        if part.name != "files" or not part.filename:
            await part.release()  # the CSRF field, or a file input left empty
            continue
        name = part.filename
        if (wheel_version(name) is None and
                wheel_version(name.removesuffix(SIGNATURE_SUFFIX)) is None) or name in names:
            raise UploadError(NOT_AN_UPDATE, name=name[:100])
        out = await asyncio.to_thread((folder / name).open, "xb")
        try:
            while chunk := await part.read_chunk(CHUNK):
                total += len(chunk)
                if total > MAX_UPDATE_BYTES:
                    raise UploadError(TOO_LARGE, size=MAX_UPDATE_BYTES >> 20)
                await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(_sync, out.fileno())
        finally:
            await asyncio.to_thread(out.close)
        names.append(name)
    return names


def _sync(fd: int) -> None:
    os.fsync(fd)


def _check(folder: Path, names: list[str], trusted: Path) -> str:
    """Return the wheel's name once it is signed by a trusted key and newer than this one."""
    wheels = [n for n in names if wheel_version(n) is not None]
    if len(wheels) != 1 or sorted(names) != sorted([wheels[0], wheels[0] + SIGNATURE_SUFFIX]):
        raise UploadError(CHOOSE_BOTH)
    wheel = wheels[0]
    # cryptography (OpenSSL) loads only when an update arrives: an idle daemon stays small
    from appliance.update import UpdateError, verify
    try:
        verify(folder / wheel, folder / (wheel + SIGNATURE_SUFFIX), trusted)
    except UpdateError:
        raise UploadError(UNSIGNED, name=wheel) from None
    version = wheel_version(wheel) or ""
    if not is_newer(version, appliance.__version__):
        raise UploadError(NOT_NEWER, version=version, running=appliance.__version__)
    return wheel


def _hand_over(folder: Path, wheel: str, pending: Path) -> None:
    """Move the checked files into pending/, the signature last: its arrival starts the updater."""
    pending.mkdir(parents=True, exist_ok=True)
    for name in (wheel, wheel + SIGNATURE_SUFFIX):
        place(folder / name, pending / name)
