"""The Drive files a run may read: what its `drive_path` fields name, opened for it.

A connector never sees the disk: the daemon opens each file read-only and
passes the descriptor to the subprocess, with the file's Drive path.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.files import FileTree, FilesError, NotFound
from appliance.jobs.manifest import Manifest

MAX_FILES = 500  # files one run may be given
MAX_DEPTH = 4  # folder levels walked below a drive_path folder


class GrantError(Exception):
    """A drive_path field names nothing usable; the message says what to do."""


@dataclass(frozen=True)
class Grant:
    """A Drive file for a field: where it is in the Drive and on the disk."""

    field: str
    path: str
    real: Path
    size: int


async def resolve(tree: FileTree, manifest: Manifest, values: Mapping[str, str]) -> list[Grant]:
    """Return the files every drive_path field names (a file, or the files of a folder)."""
    grants: list[Grant] = []
    for spec in manifest.fields:
        value = values.get(spec.name, "")
        if spec.type != "drive_path" or not value:
            continue
        try:
            entry = await tree.stat(value)
        except NotFound:
            raise GrantError(f"there is no {value} in the Drive: check the "
                             f"{spec.label!r} field of the account") from None
        except FilesError as exc:
            raise GrantError(f"{value} can't be read: {exc}") from None
        if not entry.is_dir:
            grants.append(Grant(spec.name, entry.path, tree.real_path(entry.path), entry.size))
            continue
        await _walk(tree, spec.name, entry.path, grants, 0)
    return grants


async def _walk(tree: FileTree, field: str, folder: str, grants: list[Grant], depth: int) -> None:
    for entry in await tree.list(folder):
        if len(grants) >= MAX_FILES:
            raise GrantError(f"{folder} holds more than {MAX_FILES} files: point the account "
                             f"at a smaller folder")
        if entry.is_dir:
            if depth < MAX_DEPTH:
                await _walk(tree, field, entry.path, grants, depth + 1)
        elif not entry.name.startswith("."):
            grants.append(Grant(field, entry.path, tree.real_path(entry.path), entry.size))


@contextlib.contextmanager
def opened(grants: list[Grant]) -> Iterator[tuple[tuple[int, ...], dict[str, list[dict[str, Any]]]]]:
    """Open the granted files read-only; yield their descriptors and the runner's list."""
    fds: list[int] = []
    listing: dict[str, list[dict[str, Any]]] = {}
    try:
        for grant in grants:
            try:
                fd = os.open(grant.real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as exc:
                raise GrantError(f"{grant.path} can't be read: {exc.strerror}") from None
            fds.append(fd)
            listing.setdefault(grant.field, []).append(
                {"path": grant.path, "size": grant.size, "fd": fd})
        yield tuple(fds), listing
    finally:
        for fd in fds:
            os.close(fd)
