"""The connectors service: add accounts, run them, and see what each run brought home."""
from __future__ import annotations

from appliance.services import Service
from appliance.i18n import N_
from services.connectors.doctypes import DOCTYPES
from services.connectors.views import build

SERVICE = Service(
    id="connectors",
    name=N_("Connectors"),
    description=N_("Bring your data home from your bank and other services"),
    icon="🔌",
    routes=build,
    doctypes=DOCTYPES,
    templates="services.connectors",
    order=60,
)
