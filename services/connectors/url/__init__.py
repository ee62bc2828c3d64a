"""The url connector: a document fetched from a web address, again only when it changed."""
from __future__ import annotations

from appliance.jobs.connector import Connector, Context
from appliance.jobs.manifest import Field, Manifest
from appliance.i18n import N_


class Url(Connector):
    """Downloads one document over HTTP(S) into the Drive, asking the server if it changed."""

    manifest = Manifest(
        slug="url", name=N_("Document from a web address"), vendor="Hearth", version="1.0",
        description=N_("Downloads a document from a web address into the Drive, and again "
                       "each time it changes."),
        categories=("web",), data_types=("files",),
        fields=(
            Field("url", N_("Web address"), type="url", required=True,
                  help=N_("The address of the document, starting with https://.")),
            Field("login", N_("Login"),
                  help=N_("Only if the site asks for one (HTTP Basic authentication).")),
            Field("password", N_("Password"), type="password"),
            Field("folder", N_("Folder"),
                  help=N_("A folder for the document inside the account's folder; "
                          "leave empty to put it there directly.")),
        ),
        frequency="daily", time_window=(1, 6), timeout=3600, memory_mb=256)

    async def fetch(self, ctx: Context) -> None:
        """Download the document unless the server says it has not changed."""
        # Only a run downloads: the daemon imports this package for its manifest.
        from services.connectors.url.download import download

        await download(ctx)


CONNECTOR = Url
