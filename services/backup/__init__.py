"""Backups: the backup disk, the emergency kit, runs with a progress bar, restoring files."""
from __future__ import annotations

from appliance.services import Service
from appliance.i18n import N_
from services.backup.views import build

SERVICE = Service(
    id="backup",
    name=N_("Backups"),
    description=N_("Copies of everything on a second disk, encrypted"),
    icon="🛟",
    routes=build,
    templates="services.backup",
    order=90,
)
