"""Errors told in the visitor's language: a page inside the shell, or JSON for the data API."""
from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance import keys
from appliance.auth.tokens import Scope
from appliance.services import Service, ServiceContext
from appliance.settings import Settings
from tests.conftest import onboard, start_client

HTML = {"Accept": "text/html"}


def _failing_routes(ctx: ServiceContext) -> web.Application:
    async def fails(request: web.Request) -> web.Response:
        raise RuntimeError("a bug in a service")
    app = web.Application()
    app.router.add_get("/", fails)
    return app


FAILING = Service(id="failing", name="Failing", description="A route that fails", icon="",
                  routes=_failing_routes)


@pytest.fixture
async def french(settings: Settings) -> AsyncIterator[TestClient]:
    """The owner of a box set up in French, with a service whose page fails."""
    client = await start_client(settings, services=[FAILING])
    await onboard(client, language="fr")
    yield client
    await client.close()


async def test_an_unknown_address_gets_a_french_page_inside_the_shell(french: TestClient) -> None:
    resp = await french.get("/no/such/page", headers=HTML)
    text = await resp.text()
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "Rien ici" in text and 'href="/settings"' in text  # the shell, signed in
    assert "Not Found" not in text


async def test_a_form_without_its_token_is_sent_back_with_a_french_message(
        french: TestClient) -> None:
    resp = await french.post("/settings/tokens", data={"name": "x", "scopes": "io.a.b"},
                             headers={**HTML, "Referer": str(french.make_url("/settings"))})
    text = await resp.text()
    assert resp.status == 403
    assert "Ce formulaire a expiré" in text and 'href="/settings"' in text


async def test_a_body_too_large_gets_a_french_page(french: TestClient, settings: Settings
                                                  ) -> None:
    big = io.BytesIO(b"name=" + b"x" * (settings.max_body_kb * 1024 + 10))
    resp = await french.post("/settings/tokens", data=big, headers={
        **HTML, "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413
    assert "Trop volumineux" in await resp.text()


async def test_a_failing_route_gets_a_french_500_page(french: TestClient) -> None:
    resp = await french.get("/apps/failing/", headers=HTML)
    text = await resp.text()
    assert resp.status == 500 and "Un problème est survenu" in text
    assert "RuntimeError" not in text and "a bug" not in text


async def test_a_script_gets_json_errors_in_the_language_it_asks(french: TestClient) -> None:
    resp = await french.get("/nowhere", headers={"Accept": "application/json"})
    assert resp.status == 404
    assert (await resp.json())["error"].startswith("Il n’y a pas de page")


async def test_the_data_api_answers_errors_in_the_asked_language(settings: Settings) -> None:
    client = await start_client(settings)
    try:
        await onboard(client)  # an English box: the language comes from the request
        core = client.server.app[keys.CORE]
        plaintext, _ = await core.tokens.create("t", [Scope.parse("io.hearth.bookmarks:GET")])
        for lang, words in (("fr", "Ce jeton n’a pas le droit de faire POST sur "
                                   "io.hearth.bookmarks."),
                            ("en", "This token may not POST io.hearth.bookmarks.")):
            client.session.cookie_jar.clear()
            headers = {"Authorization": f"Bearer {plaintext}", "Accept-Language": lang}
            resp = await client.post("/data/io.hearth.bookmarks/", json={"a": 1},
                                     headers=headers)
            assert resp.status == 403 and (await resp.json()) == {"error": words}
            resp = await client.get("/data/io.hearth.bookmarks/nope", headers=headers)
            assert resp.status == 404
        assert (await resp.json())["error"] == "No such document."
    finally:
        await client.close()
