"""WebDAV at /dav/: the Drive for every device (sync clients, file managers, phones)."""
from __future__ import annotations

from appliance.doctypes import Doctype
from appliance.services import Service
from appliance.i18n import N_
from services.webdav.deadprops import DOCTYPE
from services.webdav.server import PREFIX, build

PROPERTIES = Doctype(DOCTYPE, indexes=("file",))

SERVICE = Service(
    id="webdav",
    name=N_("Files for your devices"),
    description=N_("Reach the Drive from computers and phones over WebDAV"),
    icon="💻",
    routes=build,
    doctypes=(PROPERTIES,),
    mount=PREFIX,
    order=60,
)
