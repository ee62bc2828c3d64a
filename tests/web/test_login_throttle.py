"""Guessing the passphrase: rationed per address, in flight and for all; the owner still gets in."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from appliance.auth.known_browsers import KNOWN_BROWSER_COOKIE
from tests.conftest import PASSPHRASE, page_csrf


@contextlib.asynccontextmanager
async def browser_at(client: TestClient, address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser of its own whose connections come from `address` (127.0.0.0/8 is all local)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(base_url=client.make_url(""), connector=connector,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def guess(session: aiohttp.ClientSession | TestClient, csrf: str,
                passphrase: str = "not it at all") -> int:
    resp = await session.post("/login", allow_redirects=False,
                              data={"_csrf": csrf, "passphrase": passphrase})
    if resp.status == 429:
        assert int(resp.headers["Retry-After"]) >= 1
    return resp.status


async def test_forty_concurrent_guesses_from_one_address_get_few_checks(
        owner: TestClient, checked: list[str]) -> None:
    async with browser_at(owner, "127.0.0.2") as attacker:
        csrf = await page_csrf(attacker, "/login")
        answers = await asyncio.gather(*(guess(attacker, csrf) for _ in range(40)))
    assert len(checked) <= 4, len(checked)  # three free tries, the fourth one sets a wait
    assert answers.count(429) >= 36 and set(answers) <= {401, 429}


async def test_forty_addresses_guessing_three_times_hit_the_global_cap(
        owner: TestClient, checked: list[str]) -> None:
    # one guess at a time, so that it is the global rate that stops them, not the slots
    answers: list[int] = []
    async with contextlib.AsyncExitStack() as stack:
        attackers = [await stack.enter_async_context(browser_at(owner, f"127.0.0.{10 + n}"))
                     for n in range(40)]
        tokens = [await page_csrf(attacker, "/login") for attacker in attackers]
        for _round in range(3):
            for attacker, csrf in zip(attackers, tokens):
                answers.append(await guess(attacker, csrf))
    assert len(checked) <= 30, len(checked)  # at most 30 checks a minute for all addresses
    assert answers.count(429) >= 90

    # the owner's browser signed in before: it still gets in, at once
    assert KNOWN_BROWSER_COOKIE in {c.key for c in owner.session.cookie_jar}
    await owner.post("/logout", data={"_csrf": await page_csrf(owner)})
    csrf = await page_csrf(owner, "/login")
    assert await guess(owner, csrf, PASSPHRASE) == 303
    assert (await owner.get("/", allow_redirects=False)).status == 200
    # a browser that never signed in waits for the attack to end, even with the passphrase
    async with browser_at(owner, "127.0.0.99") as newcomer:
        assert await guess(newcomer, await page_csrf(newcomer, "/login"), PASSPHRASE) == 429


async def test_the_known_browser_is_not_queued_behind_an_attack(
        owner: TestClient, checked: list[str]) -> None:
    await owner.post("/logout", data={"_csrf": await page_csrf(owner)})
    owner_csrf = await page_csrf(owner, "/login")
    async with browser_at(owner, "127.0.0.3") as attacker:
        csrf = await page_csrf(attacker, "/login")
        attack = [guess(attacker, csrf) for _ in range(40)]
        *answers, mine = await asyncio.gather(*attack, guess(owner, owner_csrf, PASSPHRASE))
    assert mine == 303
    assert len(checked) <= 4 + 1  # the attacker's few, then the owner's


async def test_a_forged_known_browser_cookie_counts_for_nothing(
        owner: TestClient, checked: list[str]) -> None:
    async with browser_at(owner, "127.0.0.4") as attacker:
        attacker.cookie_jar.update_cookies({KNOWN_BROWSER_COOKIE: "1.2.3"})
        csrf = await page_csrf(attacker, "/login")
        await asyncio.gather(*(guess(attacker, csrf) for _ in range(40)))
    assert len(checked) <= 4
