"""Ports to the hardware and the system, and the real adapters behind them."""
from __future__ import annotations

from dataclasses import dataclass, field

from appliance.platform.systemd import Notifier, SystemdNotifier


@dataclass(frozen=True)
class Platform:
    """The hardware and system adapters the daemon talks to."""

    notifier: Notifier = field(default_factory=SystemdNotifier.from_environ)
