"""Errors of the file tree: each message says what happened and what the owner can do.

Each kind answers with its own HTTP status: the one table of them, read by the Drive
and by WebDAV alike.
"""
from __future__ import annotations

import errno

from appliance.errors import UserError


class FilesError(UserError):
    """The file tree can't do what was asked; the message is for the owner."""

    status = 503  # the disk failed (read-only, input/output error): not the asker's fault


class InvalidName(FilesError, ValueError):
    """A name or path can't be used (the message says which part and why)."""

    status = 400


class InvalidTag(FilesError, ValueError):
    """A tag can't be used."""

    status = 400


class NotFound(FilesError):
    """There is nothing at that path (or with that id)."""

    status = 404


class Exists(FilesError):
    """Something already has that name."""

    status = 409


class NotADirectory(FilesError):
    """A path goes through a file as if it were a folder."""

    status = 409


class NotEmpty(FilesError):
    """A folder still holds something."""

    status = 409


class Conflict(FilesError):
    """The file changed since the version the caller knew (etag mismatch)."""

    status = 412


class NoSpace(FilesError):
    """The data disk is full; nothing half-written was left behind."""

    status = 507


class TooLarge(FilesError):
    """An upload is bigger than the limit it was given."""

    status = 413


_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_error(exc: OSError, what: str) -> FilesError:
    """Return the FilesError for a system error met while doing `what` ("saving /a.txt")."""
    if exc.errno in _FULL:
        return NoSpace(f"the data disk is full, so {what} failed and nothing was kept; "
                       "free some space (empty the trash, delete big files) and try again")
    if exc.errno == errno.EROFS:
        return FilesError(f"{what} failed: the data disk is read-only (it may have been "
                          "switched to read-only after an error); check the disk on the "
                          "Storage page")
    if exc.errno == errno.EIO:
        return FilesError(f"{what} failed: the data disk reported an input/output error; "
                          "check its cable and its health on the Storage page")
    if exc.errno in (errno.EINVAL, errno.ENAMETOOLONG, errno.EILSEQ):
        return InvalidName(f"{what} failed: the data disk's file system refuses this "
                           "name; pick a simpler one (without : * ? \" < > |)")
    if exc.errno == errno.ENOENT:
        return NotFound(f"{what} failed: it was removed meanwhile (on another computer?); "
                        "reload the folder")
    if exc.errno == errno.ENOTEMPTY:
        return NotEmpty(f"{what} failed: the folder is not empty")
    return FilesError(f"{what} failed: {exc.strerror or exc}")
