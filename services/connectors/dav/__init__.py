"""The dav connector: contacts (CardDAV) and calendars (CalDAV) from Nextcloud, iCloud, Radicale…"""
from __future__ import annotations

import base64
from typing import Any

from appliance.jobs.connector import NOT_FOUND, Connector, ConnectorError, Context
from appliance.jobs.manifest import Dedup, Field, Manifest
from appliance.i18n import N_

CONTACTS = "io.hearth.contacts"
EVENTS = "io.hearth.events"


class DavConnector(Connector):
    """Copies every address book and calendar of a CardDAV/CalDAV account, incrementally."""

    manifest = Manifest(
        slug="dav", name=N_("Contacts and calendars (CardDAV, CalDAV)"), vendor="Hearth",
        version="1.0",
        description=N_("Keeps a copy of your contacts and calendars from Nextcloud, iCloud, "
                       "Fastmail or any CardDAV/CalDAV server."),
        categories=("contacts", "calendar"), data_types=("contacts", "events"),
        fields=(
            Field("url", N_("Server address"), type="url", required=True,
                  help=N_("For example https://cloud.example.org/remote.php/dav or "
                          "https://contacts.icloud.com")),
            Field("login", N_("Login"), required=True),
            Field("password", N_("Password"), type="password", required=True,
                  help=N_("With two-step verification (iCloud, Fastmail), use an app "
                          "password made for Hearth.")),
        ),
        doctypes={CONTACTS: Dedup(("collection", "href"), update=True),
                  EVENTS: Dedup(("collection", "href", "instance"), update=True)},
        frequency="daily", time_window=(1, 6), timeout=1800, memory_mb=256)

    async def fetch(self, ctx: Context) -> None:
        """Find the account's collections and bring each up to date."""
        # Only a run speaks to the server: the daemon imports this package for its manifest.
        import aiohttp

        from services.connectors.dav.client import Dav  # likewise
        from services.connectors.dav.sync import sync  # likewise

        pair = f"{ctx.fields['login']}:{ctx.fields['password']}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        timeout = aiohttp.ClientTimeout(total=300, sock_connect=30)
        session: dict[str, Any] = dict(ctx.session or {})
        states: dict[str, Any] = session.setdefault("collections", {})
        async with aiohttp.ClientSession(headers=auth, timeout=timeout) as http:
            dav = Dav(http, ctx.fields["url"])
            found = await dav.collections()
            if not found:
                raise ConnectorError(NOT_FOUND, f"no address book or calendar at "
                                                f"{ctx.fields['url']}: check the address")
            for coll in found:
                counts = await sync(ctx, dav, coll, states.setdefault(coll.url, {}))
                ctx.logger.info("%s: %d new or changed, %d deleted", coll.name,
                                counts["changed"], counts["deleted"])
                ctx.save_session(session)  # each collection's progress is kept on its own
        for gone in set(states) - {c.url for c in found}:
            del states[gone]  # a removed collection: its documents stay as they were
        ctx.save_session(session)


CONNECTOR = DavConnector
