"""The daemon's side of an update: take an upload, check it, and hand it to the root updater.

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
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from aiohttp import BodyPartReader, MultipartReader
from aiohttp.http_exceptions import HttpProcessingError

import appliance
from appliance.durable import place
from appliance.errors import UserError
from appliance.i18n import N_
from appliance.settings import Settings
from appliance.updater.errors import UpdateError
from appliance.updater.status import UpdateStatus, read_status
from appliance.updater.versions import (MAX_UPDATE_BYTES, SIGNATURE_SUFFIX, is_newer,
                                        version_key, wheel_version)

CHUNK = 1 << 16

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

# Opens the request's multipart body; raises UploadError(NOT_A_FORM) if it is not one.
OpenParts = Callable[[], Awaitable[MultipartReader]]


class UploadError(UserError):
    """An upload was refused; carries the message (a msgid) and its values."""


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


async def receive(settings: Settings, open_parts: OpenParts) -> None:
    """Take an uploaded update, check it, and hand it to the root updater; UploadError if not."""
    if not await asyncio.to_thread(has_updater, settings):
        raise UploadError(NO_UPDATER)
    updates = pending_dir(settings).parent
    await asyncio.to_thread(updates.mkdir, parents=True, exist_ok=True)
    incoming = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=updates, prefix="incoming-"))
    try:
        names = await _save_parts(open_parts, incoming)
        wheel = await asyncio.to_thread(_check, incoming, names, settings.update_keys)
        await asyncio.to_thread(_hand_over, incoming, wheel, pending_dir(settings))
    finally:
        await asyncio.to_thread(shutil.rmtree, incoming, True)


async def _save_parts(open_parts: OpenParts, folder: Path) -> list[str]:
    """Stream each uploaded file to disk (never whole in memory); return their names."""
    reader = await open_parts()
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
    from appliance.updater.signature import verify
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
