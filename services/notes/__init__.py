"""Notes: Markdown files in the Drive's Notes folder, written and read in the browser."""
from __future__ import annotations

from appliance.services import Service
from appliance.i18n import N_
from services.notes.views import build

SERVICE = Service(
    id="notes",
    name=N_("Notes"),
    description=N_("Lists and notes, kept as files in your Drive"),
    icon="📝",
    routes=build,
    templates="services.notes",
    order=40,
)
