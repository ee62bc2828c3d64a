"""Install a signed wheel and restart into it; put the version before back if it does not start.

The box keeps each version in its own folder under /opt/hearth-releases and
/opt/hearth is a link to the one in use. An update copies the current folder,
installs the new wheel into the copy, switches the link, restarts hearth.service
and waits for it to say READY=1; if it does not in time, the link goes back and
the previous version is restarted.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from appliance.updater.errors import RolledBack
from appliance.updater.releases import Releases
from appliance.updater.restarter import Restarter
from appliance.updater.signature import verify

logger = logging.getLogger(__name__)


def apply(wheel: Path, signature: Path, *, keys: Path, releases: Releases,
          restarter: Restarter, timeout: float) -> Path:
    """Install a signed wheel and restart; roll back if not READY in time. Return the release."""
    verify(wheel, signature, keys)
    previous = releases.current()
    release = releases.install(wheel)
    os.sync()  # the new files are on the card before the link names them (power cuts)
    releases.switch(release)
    logger.info("restarting with %s", release.name)
    if restarter.restart(timeout):
        releases.prune(keep=[release, previous])
        return release
    back = roll_back(releases, release, previous, restarter, timeout)
    raise RolledBack(f"{wheel.name} did not start within {timeout:.0f} s and was rolled back; "
                     + (f"{previous.name} runs again" if back
                        else f"{previous.name} is back in place but did not start either"))


def roll_back(releases: Releases, new: Path, previous: Path, restarter: Restarter,
              timeout: float) -> bool:
    """Put the version before back in place and remove the new one's folder, whatever its state.

    Return whether the version before was put back and started again.
    """
    back = False
    if releases.current() == new.resolve() and previous.is_dir():
        releases.switch(previous)
        back = restarter.restart(timeout)
    if new.is_dir() and not new.is_symlink() and releases.current() != new.resolve():
        shutil.rmtree(new, ignore_errors=True)
    return back
