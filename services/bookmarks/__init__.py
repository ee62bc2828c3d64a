"""Bookmarks: the links the household wants to keep, on the box."""
from __future__ import annotations

from appliance.doctypes import Doctype, FieldSpec
from appliance.services import Service
from appliance.i18n import N_
from services.bookmarks.views import build

DOCTYPE = Doctype(
    "io.hearth.bookmarks",
    version=1,
    # version 1 added tags; older bookmarks get none.
    migrations=(lambda doc: {**doc, "tags": doc.get("tags", [])},),
    fields={
        "url": FieldSpec("link", required=True, nullable=False),
        "title": FieldSpec("str", required=True, nullable=False),
        "tags": FieldSpec("list"),
        "created_at": FieldSpec("number"),
    },
)

SERVICE = Service(
    id="bookmarks",
    name=N_("Bookmarks"),
    description=N_("Links you want to keep"),
    icon="🔖",
    routes=build,
    doctypes=(DOCTYPE,),
    templates="services.bookmarks",
    order=50,
)
