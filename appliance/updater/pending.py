"""The root side of an update from the web page: settle a cut-off one, then apply what waits.

`hearth-update apply-pending` (hearth-update.service) runs this: it takes root's own
copy of the newest update in pending/ (see intake), verifies it again, refuses a
downgrade, applies it, and writes each step to the status file the page reads.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from appliance.updater.errors import RolledBack, UpdateError
from appliance.updater.intake import clear_files, copy_in, newest_update, open_pending
from appliance.updater.releases import Releases
from appliance.updater.restarter import Restarter
from appliance.updater.rollout import apply, roll_back
from appliance.updater.signature import verify
from appliance.updater.status import UpdateStatus, read_status, write_status
from appliance.updater.versions import SIGNATURE_SUFFIX, is_newer, wheel_version

logger = logging.getLogger(__name__)

STATE = Path("/var/lib/hearth-update")  # hearth-update.service's StateDirectory, mode 0755
STATUS = STATE / "status.json"
WORK = STATE / "work"


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
    back = roll_back(releases, new, previous, restarter, timeout)
    return write_status(status, "rolled-back", last.version, previous=last.previous,
                        detail="cut off, then did not start" + ("" if back else
                                                                 f"; {last.previous} did not either"))


def apply_pending(pending: Path, *, work: Path, status: Path, keys: Path, releases: Releases,
                  restarter: Restarter, timeout: float) -> UpdateStatus | None:
    """Settle a cut-off update, then apply the newest one in pending/; None if there was none."""
    settled = recover(status, releases=releases, restarter=restarter, timeout=timeout)
    folder = open_pending(pending)
    if folder is None:
        return settled
    try:
        wheel = newest_update(os.listdir(folder))
        if wheel is None:
            return settled
        version = wheel_version(wheel) or ""
        previous = releases.current().name
        write_status(status, "installing", version, previous=previous)
        marker_of(status).touch()
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700, parents=True)
        try:
            copy_in(folder, wheel, work / wheel)
            copy_in(folder, wheel + SIGNATURE_SUFFIX, work / (wheel + SIGNATURE_SUFFIX))
        except UpdateError as exc:
            return _refused(status, version, previous, "files", exc)
        clear_files(folder)  # before the restart: the new daemon starts with an empty pending/
        return _apply_copy(work / wheel, status=status, version=version, previous=previous,
                           keys=keys, releases=releases, restarter=restarter, timeout=timeout)
    finally:
        clear_files(folder)
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
        roll_back(releases, releases.root / version, releases.root / previous, restarter,
                  timeout)
        return _refused(status, version, previous, "install", UpdateError(str(exc) or repr(exc)))
    logger.info("Hearth %s is running", version)
    return write_status(status, "done", version, previous=previous)


def _refused(status: Path, version: str, previous: str, reason: str,
             exc: UpdateError) -> UpdateStatus:
    logger.warning("update %s refused: %s", version, exc)
    return write_status(status, "refused", version, previous=previous, reason=reason,
                        detail=str(exc))
