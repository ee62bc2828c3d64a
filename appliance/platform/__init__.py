"""Ports to the hardware and the system, and the real adapters behind them."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.platform.disks import Disks, UdevDisks
from appliance.platform.helper_client import HelperClient
from appliance.platform.systemd import Notifier, SystemdNotifier
from appliance.settings import Settings


@dataclass(frozen=True)
class Platform:
    """The hardware and system adapters the daemon talks to."""

    notifier: Notifier = field(default_factory=SystemdNotifier.from_environ)
    disks: Disks = field(default_factory=UdevDisks)
    helper: HelperClient | None = None
    clock: Callable[[], float] = time.time  # the wall clock services read (tests move it)

    @classmethod
    def for_settings(cls, settings: Settings) -> Platform:
        """Return the real adapters, with the disk helper the settings name."""
        helper = HelperClient(settings.helper_socket) if settings.helper_socket else None
        return cls(helper=helper)
