"""French and English: from the browser at first, then the owner's choice."""
from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import onboard, page_csrf


async def test_onboarding_follows_the_browser_language(client: TestClient) -> None:
    fr = await client.get("/welcome", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    text = await fr.text()
    assert 'lang="fr"' in text and "Bienvenue" in text
    en = await client.get("/welcome", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert 'lang="en"' in await en.text()


async def test_the_owner_choice_sticks(client: TestClient) -> None:
    await onboard(client, language="fr")
    page = await client.get("/settings", headers={"Accept-Language": "en"})
    text = await page.text()
    assert 'lang="fr"' in text and "Paramètres" in text


async def test_switching_language_in_settings(client: TestClient) -> None:
    await onboard(client, language="en")
    csrf = await page_csrf(client, "/settings")
    resp = await client.post("/settings/box", data={"_csrf": csrf, "name": "maison",
                                                    "language": "fr"})
    assert 'lang="fr"' in await resp.text()


async def test_visitor_can_switch_before_signing_in(owner: TestClient) -> None:
    await owner.post("/logout", data={"_csrf": await page_csrf(owner)})
    csrf = await page_csrf(owner, "/login")
    resp = await owner.post("/lang", data={"_csrf": csrf, "language": "fr", "next": "/login"})
    assert resp.url.path == "/login" and 'lang="fr"' in await resp.text()
    bad = await owner.post("/lang", data={"_csrf": csrf, "language": "xx"})
    assert bad.status == 400
