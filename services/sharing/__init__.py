"""Sharing: read-only links to a file or folder, for people without an account on the box."""
from __future__ import annotations

from appliance.doctypes import Doctype, FieldSpec
from appliance.services import Service
from appliance.i18n import N_
from services.sharing.links import DOCTYPE
from services.sharing.reach import FILES_DOCTYPE
from services.sharing.views import build

SHARINGS = Doctype(
    DOCTYPE,
    indexes=("lookup", "file_id"),
    private=True,  # holds the tokens: never reachable through the data API
    fields={
        "token": FieldSpec("str", required=True, nullable=False),
        "lookup": FieldSpec("str", required=True, nullable=False),
        "file_id": FieldSpec("str", required=True, nullable=False),
        "path": FieldSpec("str", required=True, nullable=False),
        "name": FieldSpec("str", required=True, nullable=False),
        "type": FieldSpec("str", required=True, nullable=False),
        "created_at": FieldSpec("number", required=True, nullable=False),
        "expires_at": FieldSpec("number"),
        "password": FieldSpec("str"),
        "visits": FieldSpec("int"),
        "downloads": FieldSpec("int"),
        "last_visit": FieldSpec("number"),
    },
)
# Read only, to follow a shared item by its id when it is moved or renamed.
FILES = Doctype(FILES_DOCTYPE)

SERVICE = Service(
    id="sharing",
    name=N_("Sharing"),
    description=N_("Links to your files for family and friends"),
    icon="🔗",
    routes=build,
    doctypes=(SHARINGS, FILES),
    templates="services.sharing",
    order=30,
    mount="/s/",
)
