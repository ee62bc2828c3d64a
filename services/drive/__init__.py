"""Drive: the household's files and folders on the box, in the browser."""
from __future__ import annotations

from appliance.services import Service
from appliance.i18n import N_
from services.drive.routes import build

SERVICE = Service(
    id="drive",
    name=N_("Drive"),
    description=N_("Your files and photos"),
    icon="🗂️",
    routes=build,
    templates="services.drive",
    order=10,
)
