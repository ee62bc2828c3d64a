"""Reading what the daemon left in pending/, as root, trusting none of it.

The daemon (user hearth) owns the pending folder, so everything in it is untrusted
here: a file may be swapped after the daemon checked it, or be a symlink to a file
of root's. The folder is opened without following links, and an update is copied
into a folder only root can write, plain files only and capped in size.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from appliance.updater.errors import UpdateError
from appliance.updater.versions import (MAX_UPDATE_BYTES, SIGNATURE_SUFFIX, version_key,
                                        wheel_version)

PENDING = Path("/var/lib/hearth/updates/pending")
# The last two parts of PENDING (updates/pending) belong to the hearth user.
UNTRUSTED_DEPTH = 2


def open_pending(pending: Path) -> int | None:
    """Open the pending folder without following a link the hearth user may have planted."""
    try:
        fd = os.open(pending.parents[UNTRUSTED_DEPTH - 1], os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    for part in pending.parts[-UNTRUSTED_DEPTH:]:
        try:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP or ENOTDIR: a link or a file where a folder should be
            raise UpdateError(f"{pending} is not a plain folder ({exc.strerror}); "
                              "nothing was read from it") from None
        finally:
            os.close(fd)
        fd = inner
    return fd


def newest_update(names: list[str]) -> str | None:
    """Return the wheel name of the newest signed update among names."""
    wheels = [n[:-len(SIGNATURE_SUFFIX)] for n in names if n.endswith(SIGNATURE_SUFFIX)]
    versions = {w: v for w in wheels if (v := wheel_version(w)) is not None}
    if not versions:
        return None
    return max(versions, key=lambda w: version_key(versions[w]))


def copy_in(folder: int, name: str, target: Path) -> None:
    """Copy a plain file out of the untrusted folder: no link, no device, not too big."""
    try:
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=folder)
    except FileNotFoundError:
        raise UpdateError(f"{name} is missing: an update needs the wheel and its signature") \
            from None
    except OSError as exc:
        raise UpdateError(f"{name} is not a plain file ({exc.strerror}); it was not read") \
            from None
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise UpdateError(f"{name} is not a plain file; it was not read")
        copied = 0
        with target.open("xb") as out:
            while chunk := os.read(source, 1 << 20):
                copied += len(chunk)
                if copied > MAX_UPDATE_BYTES:
                    raise UpdateError(f"{name} is larger than {MAX_UPDATE_BYTES >> 20} MiB")
                out.write(chunk)
    finally:
        os.close(source)


def clear_files(folder: int) -> None:
    """Remove everything but folders from pending/, so that the path unit does not fire again."""
    for name in os.listdir(folder):
        if not stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            os.unlink(name, dir_fd=folder)
