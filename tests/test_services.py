"""The service contract: discovery through entry points, a narrow context, a sub-app."""
from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from appliance.services import discover
from appliance.settings import Settings
from tests.conftest import onboard, start_client


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[str]:
    """Install a third-party service the way pip would: a package and its dist-info."""
    site = tmp_path / "site"
    pkg = site / "hearth_hello"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from aiohttp import web
        from appliance.doctypes import Doctype
        from appliance.services import Service

        def build(ctx):
            app = web.Application()
            async def hello(request):
                coll = ctx.collections["org.example.greetings"]
                doc = await coll.create({"text": "hello"})
                await ctx.notify("greeted", "Someone said hello", "")
                try:
                    ctx.collections["io.hearth.tokens"]
                    reach = "tokens reachable"
                except KeyError:
                    reach = "tokens out of reach"
                return web.json_response({"id": doc["_id"], "reach": reach})
            app.router.add_get("/", hello)
            return app

        SERVICE = Service(id="hello", name="Hello", description="Says hello", icon="👋",
                          routes=build, doctypes=(Doctype("org.example.greetings"),))
        NOT_A_SERVICE = object()
    '''))
    dist = site / "hearth_hello-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hearth-hello\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hearth.services]\nhello = hearth_hello:SERVICE\nbroken = hearth_hello:NOT_A_SERVICE\n"
        "missing = hearth_nowhere:SERVICE\n")
    sys.path.insert(0, str(site))
    yield "hello"
    sys.path.remove(str(site))
    sys.modules.pop("hearth_hello", None)


def test_discover_finds_builtin_and_third_party_services(installed_plugin: str) -> None:
    ids = [s.id for s in discover()]
    assert "bookmarks" in ids and installed_plugin in ids
    assert len(ids) == len(set(ids))  # broken entries were left out, not crashed on


async def test_a_plugin_gets_its_own_collections_only(installed_plugin: str,
                                                      settings: Settings) -> None:
    client: TestClient = await start_client(settings)
    try:
        await onboard(client)
        home = await (await client.get("/")).text()
        assert "Says hello" in home
        resp = await client.get("/apps/hello/")
        body = await resp.json()
        assert resp.status == 200 and body["reach"] == "tokens out of reach"
        notes = await (await client.get("/notifications")).text()
        assert "Someone said hello" in notes
        found = await client.get(f"/data/org.example.greetings/{body['id']}")
        assert (await found.json())["text"] == "hello"
    finally:
        await client.close()
