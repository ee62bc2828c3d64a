"""Restarting the daemon after an update, and knowing whether it came up."""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)


class Restarter(Protocol):
    """Restarts the daemon and says whether it reached READY within the time limit."""

    def restart(self, timeout: float) -> bool:
        """Restart the daemon; return True once it is ready, False if it is not in time."""


@dataclass
class SystemdRestarter:
    """hearth.service under systemd: Type=notify, so a restart returns once READY=1 came."""

    unit: str = "hearth.service"

    def restart(self, timeout: float) -> bool:
        """Restart the unit; return whether it is active (READY sent) within timeout."""
        try:
            subprocess.run(["systemctl", "restart", self.unit], timeout=timeout,
                           capture_output=True, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            logger.warning("%s did not start: %s", self.unit, exc)
            return False
        state = subprocess.run(["systemctl", "is-active", self.unit],
                               capture_output=True, text=True).stdout.strip()
        return state == "active"
