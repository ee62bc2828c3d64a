"""The root side of an update from the web page: take what the daemon left, check, apply it.

The daemon (user hearth) owns the pending folder, so everything in it is untrusted
here: a file may be swapped after the daemon checked it, or be a symlink to a file
of root's. The update is first copied into a folder only root can write, opened
without following links and capped in size, then verified again and applied.
"""
from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path

from appliance.update import Releases, Restarter, RolledBack, UpdateError, apply, verify
from appliance.update_status import (MAX_UPDATE_BYTES, SIGNATURE_SUFFIX, UpdateStatus,
                                     is_newer, read_status, version_key, wheel_version,
                                     write_status)

logger = logging.getLogger(__name__)

PENDING = Path("/var/lib/hearth/updates/pending")
STATE = Path("/var/lib/hearth-update")  # hearth-update.service's StateDirectory, mode 0755
STATUS = STATE / "status.json"
WORK = STATE / "work"
# The last two parts of PENDING (updates/pending) belong to the hearth user.
UNTRUSTED_DEPTH = 2


def _open_pending(pending: Path) -> int | None:
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


def _newest(names: list[str]) -> str | None:
    """Return the wheel name of the newest signed update among names."""
    wheels = [n[:-len(SIGNATURE_SUFFIX)] for n in names if n.endswith(SIGNATURE_SUFFIX)]
    versions = {w: v for w in wheels if (v := wheel_version(w)) is not None}
    if not versions:
        return None
    return max(versions, key=lambda w: version_key(versions[w]))


def _copy_in(folder: int, name: str, target: Path) -> None:
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


def _clear(folder: int) -> None:
    """Remove everything but folders from pending/, so that the path unit does not fire again."""
    for name in os.listdir(folder):
        if not stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            os.unlink(name, dir_fd=folder)


def marker_of(status: Path) -> Path:
    """Return the file that exists while an update is under way (hearth-update.path watches it).

    If it is still there when the updater starts, the last update was cut off (power
    lost, the updater killed) and is finished or undone first.
    """
    return status.with_name("updating")


def recover(status: Path, *, releases: Releases, restarter: Restarter,
            timeout: float) -> UpdateStatus | None:
    """Settle an update that was cut off: keep the new version if it starts, else go back."""
    marker = marker_of(status)
    last = read_status(status)
    if last.state != "installing":
        marker.unlink(missing_ok=True)
        return None
    try:
        return _settle(last, status, releases=releases, restarter=restarter, timeout=timeout)
    finally:
        marker.unlink(missing_ok=True)


def _settle(last: UpdateStatus, status: Path, *, releases: Releases, restarter: Restarter,
            timeout: float) -> UpdateStatus:
    new, previous = releases.root / last.version, releases.root / last.previous
    logger.warning("the update to %s was cut off; settling it", last.version)
    if wheel_version(f"hearthbox-{last.version}-py3-none-any.whl") is None \
            or not is_newer(last.version, last.previous):
        # Not an update this updater would have started (the name came from the daemon's
        # folder): touch no release.
        return write_status(status, "refused", last.version, previous=last.previous,
                            reason="interrupted", detail="nothing to settle")
    if releases.current() != new.resolve():
        # The link never moved: the new version never ran. Its folder may be half made.
        if new.is_dir() and not new.is_symlink():
            shutil.rmtree(new)
        return write_status(status, "refused", last.version, previous=last.previous,
                            reason="interrupted", detail="the box stopped before it switched")
    if restarter.restart(timeout):
        releases.prune(keep=[new, previous])
        return write_status(status, "done", last.version, previous=last.previous)
    if not previous.is_dir():
        return write_status(status, "refused", last.version, previous=last.previous,
                            reason="install", detail=f"{last.version} does not start and "
                            f"{last.previous} is gone")
    releases.switch(previous)
    back = restarter.restart(timeout)
    shutil.rmtree(new, ignore_errors=True)
    return write_status(status, "rolled-back", last.version, previous=last.previous,
                        detail="cut off, then did not start" + ("" if back else
                                                                 f"; {last.previous} did not either"))


def apply_pending(pending: Path, *, work: Path, status: Path, keys: Path, releases: Releases,
                  restarter: Restarter, timeout: float) -> UpdateStatus | None:
    """Settle a cut-off update, then apply the newest one in pending/; None if there was none."""
    settled = recover(status, releases=releases, restarter=restarter, timeout=timeout)
    folder = _open_pending(pending)
    if folder is None:
        return settled
    try:
        wheel = _newest(os.listdir(folder))
        if wheel is None:
            return settled
        version = wheel_version(wheel) or ""
        previous = releases.current().name
        write_status(status, "installing", version, previous=previous)
        marker_of(status).touch()
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700, parents=True)
        try:
            _copy_in(folder, wheel, work / wheel)
            _copy_in(folder, wheel + SIGNATURE_SUFFIX, work / (wheel + SIGNATURE_SUFFIX))
        except UpdateError as exc:
            return _refused(status, version, previous, "files", exc)
        _clear(folder)  # before the restart: the new daemon starts with an empty pending/
        return _apply_copy(work / wheel, status=status, version=version, previous=previous,
                           keys=keys, releases=releases, restarter=restarter, timeout=timeout)
    finally:
        _clear(folder)
        os.close(folder)
        shutil.rmtree(work, ignore_errors=True)
        marker_of(status).unlink(missing_ok=True)


def _apply_copy(wheel: Path, *, status: Path, version: str, previous: str, keys: Path,
                releases: Releases, restarter: Restarter, timeout: float) -> UpdateStatus:
    """Verify root's own copy again, refuse a downgrade, then apply it and record the end."""
    signature = wheel.with_name(wheel.name + SIGNATURE_SUFFIX)
    try:
        verify(wheel, signature, keys)
    except UpdateError as exc:
        return _refused(status, version, previous, "signature", exc)
    if not is_newer(version, previous):
        return _refused(status, version, previous, "older",
                        UpdateError(f"{version} is not newer than {previous}"))
    try:
        apply(wheel, signature, keys=keys, releases=releases, restarter=restarter,
              timeout=timeout)
    except RolledBack as exc:
        logger.warning("%s", exc)
        return write_status(status, "rolled-back", version, previous=previous, detail=str(exc))
    except UpdateError as exc:
        return _refused(status, version, previous, "install", exc)
    except Exception as exc:  # a full disk, a bad key file: never leave "installing" behind
        logger.exception("update to %s failed", version)
        _undo(releases, releases.root / version, releases.root / previous, restarter, timeout)
        return _refused(status, version, previous, "install", UpdateError(str(exc) or repr(exc)))
    logger.info("Hearth %s is running", version)
    return write_status(status, "done", version, previous=previous)


def _undo(releases: Releases, new: Path, previous: Path, restarter: Restarter,
          timeout: float) -> None:
    """Put the version before back in place and remove the new one's folder, whatever its state."""
    if releases.current() == new.resolve() and previous.is_dir():
        releases.switch(previous)
        restarter.restart(timeout)
    if new.is_dir() and not new.is_symlink() and releases.current() != new.resolve():
        shutil.rmtree(new, ignore_errors=True)


def _refused(status: Path, version: str, previous: str, reason: str,
             exc: UpdateError) -> UpdateStatus:
    logger.warning("update %s refused: %s", version, exc)
    return write_status(status, "refused", version, previous=previous, reason=reason,
                        detail=str(exc))
