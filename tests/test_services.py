"""The service contract: discovery through entry points, a narrow context, a sub-app."""
from __future__ import annotations

import ast
import dataclasses
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance.services import ServiceContext, discover
from appliance.settings import Settings
from services.notes import SERVICE as NOTES_SERVICE
from tests.conftest import csrf_of, onboard, start_client
from tests.services import tiny_service


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


async def test_a_tiny_service_keeps_its_documents_tells_the_owner_and_dates_them(
        settings: Settings) -> None:
    contexts: list[ServiceContext] = []

    def build(ctx: ServiceContext) -> web.Application:
        contexts.append(ctx)
        return tiny_service.build(ctx)
    guestbook = dataclasses.replace(tiny_service.SERVICE, routes=build)
    client = await start_client(settings, services=[guestbook, NOTES_SERVICE])
    try:
        await onboard(client)
        csrf = csrf_of(await (await client.get("/")).text())
        before = time.time()
        signed = await client.post("/apps/guestbook/", data={"_csrf": csrf, "name": "Léa"})
        assert signed.status == 201, await signed.text()
        refused = await client.post("/apps/guestbook/", data={"_csrf": csrf, "name": " "})
        assert refused.status == 400
        [entry] = await (await client.get("/apps/guestbook/")).json()
        assert entry["name"] == "Léa" and before <= entry["signed_at"] <= time.time()
        assert "Léa signed the guestbook" in await (await client.get("/notifications")).text()
        # The service is confined to its own doctype: the store holds others it cannot reach.
        [ctx] = contexts
        assert list(ctx.collections) == ["org.example.guestbook"]
        for other in ("io.hearth.tokens", "io.hearth.files", "io.hearth.notifications"):
            with pytest.raises(KeyError):
                ctx.collections[other]
        assert [s.id for s in ctx.installed] == ["guestbook", "notes"]
        assert ctx.find("notes") is not None and ctx.find("drive") is None
    finally:
        await client.close()


def test_no_service_reaches_into_the_app_state() -> None:
    # A service sees the platform only through its context (docs/services.md).
    services = Path(__file__).parent.parent / "services"
    offenders = []
    for source in sorted(services.rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [f"{node.module}.{alias.name}" for alias in node.names] + [
                    node.module or ""]
            else:
                modules = []
            if any(m == "appliance.keys" or m.startswith("appliance.keys.") for m in modules):
                offenders.append(f"{source}:{node.lineno} imports appliance.keys")
            if isinstance(node, ast.Attribute) and node.attr == "config_dict":
                offenders.append(f"{source}:{node.lineno} reads config_dict")
    assert offenders == []
