"""Sessions: a browser stays signed in while used, and is signed out after max_age idle."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.auth.sessions import Sessions
from appliance.store import Collection, Store
from tests.auth.test_throttle import Clock

DAY = 86400.0


@pytest.fixture
async def collection(tmp_path: Path) -> AsyncIterator[Collection]:
    store = await Store.open(tmp_path / "store")
    try:
        yield await store.collection("io.hearth.sessions")
    finally:
        await store.close()


async def test_a_session_is_signed_out_after_max_age_idle_not_a_second_before(
        collection: Collection) -> None:
    clock = Clock()
    sessions = Sessions(collection, max_age=30 * DAY, clock=clock)
    token, session = await sessions.create(user_agent="Firefox", address="192.168.1.20")
    assert (session.created_at, session.last_seen) == (1000.0, 1000.0)
    clock.now = 1000.0 + 30 * DAY
    assert sessions.lookup(token) == session
    assert sessions.list() == [session]
    clock.now = 1000.0 + 30 * DAY + 1
    assert sessions.lookup(token) is None
    assert sessions.list() == []
    assert sessions.lookup("") is None and sessions.lookup("x" * 129) is None


async def test_using_a_session_keeps_it_alive_but_writes_at_most_once_an_hour(
        collection: Collection) -> None:
    clock = Clock()
    sessions = Sessions(collection, max_age=30 * DAY, clock=clock)
    token, session = await sessions.create(user_agent="Firefox", address="192.168.1.20")
    clock.now = 1000.0 + 3599
    await sessions.touch(session)
    assert collection.get(session.id)["last_seen"] == 1000.0  # within the hour: no write
    clock.now = 1000.0 + 3600
    await sessions.touch(session)
    assert collection.get(session.id)["last_seen"] == 4600.0
    clock.now = 4600.0 + 30 * DAY
    touched = sessions.lookup(token)
    assert touched is not None and touched.last_seen == 4600.0  # alive 30 days after use
    stale_copy = session  # an older revision: a second tab touching at once must not clash
    clock.now += 7200
    await sessions.touch(stale_copy)
    assert collection.get(session.id)["last_seen"] == 4600.0


async def test_purge_deletes_only_the_expired_sessions(collection: Collection) -> None:
    clock = Clock()
    sessions = Sessions(collection, max_age=DAY, clock=clock)
    old_token, _ = await sessions.create(user_agent="old laptop", address="10.0.0.2")
    clock.now = 1000.0 + DAY / 2
    new_token, new = await sessions.create(user_agent="phone", address="10.0.0.3")
    clock.now = 1000.0 + DAY + 1
    assert await sessions.purge_expired() == 1
    assert [doc["user_agent"] for doc in collection.all()] == ["phone"]
    assert sessions.lookup(new_token) == new and sessions.lookup(old_token) is None
    assert await sessions.purge_expired() == 0
    assert await sessions.end_all(keep=new.id) == 0
    assert await sessions.end(new.id) and not await sessions.end(new.id)


async def test_a_session_used_every_day_still_ends_its_lifetime_after_sign_in(
        collection: Collection) -> None:
    clock = Clock()
    sessions = Sessions(collection, max_age=30 * DAY, lifetime=90 * DAY, clock=clock)
    token, session = await sessions.create(user_agent="Firefox", address="192.168.1.20")
    while clock.now < 1000.0 + 90 * DAY:  # a stolen cookie, used daily to keep it fresh
        live = sessions.lookup(token)
        assert live is not None
        await sessions.touch(live)
        clock.now += DAY
    clock.now = 1000.0 + 90 * DAY + 1
    assert sessions.lookup(token) is None
    assert sessions.list() == []
    assert await sessions.purge_expired() == 1
