"""The scheduler's state machine, driven by a fake clock and a fake run."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from typing import Any

import pytest

from appliance.core import Core
from appliance.jobs.accounts import DOCTYPE, RUNS_DOCTYPE
from appliance.jobs.launch import Order
from appliance.jobs.manifest import Dedup, Field, Manifest
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import InstalledConnector
from appliance.jobs.run import KEEP
from appliance.jobs.schedule import backoff, next_run
from appliance.jobs.scheduler import Scheduler
from appliance.keyring import Keyring

UTC = timezone.utc
MANIFEST = Manifest(slug="clock-test", name="Clock", vendor="Test", version="1",
                    fields=(Field("login", "Login"),), time_window=(2, 4),
                    doctypes={"io.hearth.toy.notes": Dedup(("number",))})
T0 = datetime(2024, 3, 4, 0, 0).timestamp()  # a Monday, 00:00 in the box's time zone


class FakeRuns:
    """Stands in for the subprocess: ends each run with the error code it is given."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()  # set when a run has started
        self.log: list[tuple[str, str]] = []  # ("start" or "end", account), in order

    async def __call__(self, core: Core, order: Order, outcome: Outcome) -> tuple[Outcome, Any]:
        self.calls.append(order.account_id)
        self.log.append(("start", order.account_id))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error:
            outcome.fail(self.error, f"fake {self.error}")
        self.log.append(("end", order.account_id))
        return outcome, KEEP


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runs() -> FakeRuns:
    return FakeRuns()


@pytest.fixture
def scheduler(core: Core, clock: Clock, runs: FakeRuns, split_settings: Any) -> Scheduler:
    return Scheduler(lambda: core, keyring=Keyring(split_settings.system),
                     entries=lambda: {"clock-test": InstalledConnector(MANIFEST, "x:y", False)},
                     max_runs=1, clock=clock, rng=random.Random(5), executor=runs)


async def settle(scheduler: Scheduler) -> None:
    """Wait for every run in progress to end."""
    await asyncio.gather(*[lv.task for lv in list(scheduler.live.values()) if lv.task])


class EdgeOfJitter(random.Random):
    """A random source whose jitter is always the lowest (or highest) it may be."""

    def __init__(self, highest: bool) -> None:
        super().__init__(0)
        self.highest = highest

    def uniform(self, a: float, b: float) -> float:
        return b if self.highest else a


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("frequency", "window", "slot", "expected"), [
    # After Monday 4 March 2024, 12:00: tomorrow, slot × the 2-hour window after 02:00.
    ("daily", (2, 4), 0.0, at(2024, 3, 5, 2, 0)),
    ("daily", (2, 4), 0.3, at(2024, 3, 5, 2, 36)),
    ("daily", (2, 4), 0.99, at(2024, 3, 5, 3, 58, 48)),
    # The weekday is int(slot × 7919) % 7: Monday (today's slot has passed), Wednesday, Sunday.
    ("weekly", (2, 4), 0.0, at(2024, 3, 11, 2, 0)),
    ("weekly", (2, 4), 0.3, at(2024, 3, 6, 2, 36)),
    ("weekly", (2, 4), 0.99, at(2024, 3, 10, 3, 58, 48)),
    # The day is 1 + int(slot × 7919) % 28: the 1st (of April: March's has passed), 24th, 28th.
    ("monthly", (0, 5), 0.0, at(2024, 4, 1, 0, 0)),
    ("monthly", (0, 5), 0.3, at(2024, 3, 24, 1, 30)),
    ("monthly", (0, 5), 0.99, at(2024, 3, 28, 4, 57)),
    # Hourly: slot × 60 minutes past each hour of the window, strictly after now.
    ("hourly", (0, 24), 0.0, at(2024, 3, 4, 13, 0)),
    ("hourly", (0, 24), 0.3, at(2024, 3, 4, 12, 18)),
    ("hourly", (0, 24), 0.99, at(2024, 3, 4, 12, 59, 24)),
])
def test_slots_fall_inside_the_window_and_follow_the_frequency(
        frequency: str, window: tuple[int, int], slot: float, expected: float) -> None:
    assert next_run(frequency, window, slot, at(2024, 3, 4, 12, 0), UTC) == expected


def test_an_hourly_run_after_its_window_waits_for_the_next_morning() -> None:
    assert next_run("hourly", (8, 20), 0.5, at(2024, 3, 4, 23, 30), UTC) == \
        at(2024, 3, 5, 8, 30)


def test_backoff_doubles_from_five_minutes_up_to_six_hours_give_or_take_a_fifth() -> None:
    lowest = [backoff(n, EdgeOfJitter(highest=False)) for n in range(1, 10)]
    highest = [backoff(n, EdgeOfJitter(highest=True)) for n in range(1, 10)]
    assert lowest == [240, 480, 960, 1920, 3840, 7680, 15360, 17280, 17280]
    assert highest == [360, 720, 1440, 2880, 5760, 11520, 23040, 25920, 25920]


async def test_an_account_runs_in_its_slot_and_backs_off_on_transient_errors(
        scheduler: Scheduler, clock: Clock, runs: FakeRuns) -> None:
    account = await scheduler.accounts.create(MANIFEST, "Mine", {"login": "me"})
    first = account["next_run"]
    assert 2 <= datetime.fromtimestamp(first).hour < 4
    assert await scheduler.tick() == [] and runs.calls == []
    clock.now = first
    [run_id] = await scheduler.tick()
    await settle(scheduler)
    account = scheduler.accounts.get(account["_id"])
    assert account["state"] == "ok" and account["last_run"]["status"] == "ok"
    assert account["next_run"] - first == pytest.approx(86400, abs=3600)  # tomorrow, same slot
    assert scheduler._collection(RUNS_DOCTYPE).get(run_id)["status"] == "ok"
    runs.error = "VENDOR_DOWN"
    delays = []
    for _ in range(6):
        clock.now = account["next_run"]
        await scheduler.tick()
        await settle(scheduler)
        account = scheduler.accounts.get(account["_id"])
        delays.append(account["next_run"] - clock.now)
    assert account["state"] == "failing" and account["error"] == "VENDOR_DOWN"
    assert 240 <= delays[0] <= 360 and 480 <= delays[1] <= 720 and delays[2] > delays[1]
    assert delays[5] > 6 * 3600  # after five retries, back to the regular slot
    runs.error = None
    clock.now = account["next_run"]
    await scheduler.tick()
    await settle(scheduler)
    assert scheduler.accounts.get(account["_id"])["state"] == "ok"


async def test_a_refused_login_stops_scheduled_runs_until_the_owner_acts(
        scheduler: Scheduler, clock: Clock, runs: FakeRuns, core: Core) -> None:
    account = await scheduler.accounts.create(MANIFEST, "Bank", {"login": "me"})
    runs.error = "LOGIN_FAILED"
    clock.now = account["next_run"]
    await scheduler.tick()
    await settle(scheduler)
    account = scheduler.accounts.get(account["_id"])
    assert account["state"] == "needs_user" and account["next_run"] is None
    [note] = core.notifications.list()
    assert note["kind"] == "connectors.needs_user" and "Bank: fake LOGIN_FAILED" in note["body"]
    clock.now += 30 * 86400
    assert await scheduler.tick() == []  # no scheduled run while it needs the owner
    await scheduler.launch(account["_id"])  # "run now" still works, and fails again
    await settle(scheduler)
    assert len(core.notifications.list()) == 1  # told once per change of state, not per run
    runs.error = None
    await scheduler.accounts.update(MANIFEST, account["_id"], "Bank", {"login": "me2"})
    account = scheduler.accounts.get(account["_id"])
    assert account["state"] == "ok" and account["next_run"] > clock.now
    clock.now = account["next_run"]
    assert len(await scheduler.tick()) == 1
    await settle(scheduler)
    assert runs.calls == [account["_id"]] * 3


async def test_missed_runs_are_caught_up_once(scheduler: Scheduler, clock: Clock,
                                              runs: FakeRuns) -> None:
    account = await scheduler.accounts.create(MANIFEST, "Away", {"login": "me"})
    runs_coll = scheduler._collection(RUNS_DOCTYPE)
    await runs_coll.create({"account": account["_id"], "status": "running", "started_at": T0})
    clock.now = account["next_run"] + 5 * 86400  # the box was off for five days
    await scheduler.recover()
    [left] = runs_coll.find({"account": account["_id"]})
    assert left["status"] == "failed" and left["error"] == "INTERRUPTED"
    caught = scheduler.accounts.get(account["_id"])["next_run"]
    assert clock.now <= caught <= clock.now + 300
    clock.now = caught
    assert len(await scheduler.tick()) == 1
    await settle(scheduler)
    assert await scheduler.tick() == [] and runs.calls == [account["_id"]]
    assert scheduler.accounts.get(account["_id"])["next_run"] > clock.now


async def test_at_most_n_runs_at_a_time(scheduler: Scheduler, clock: Clock,
                                        runs: FakeRuns) -> None:
    first = await scheduler.accounts.create(MANIFEST, "One", {"login": "a"})
    second = await scheduler.accounts.create(MANIFEST, "Two", {"login": "b"})
    runs.gate = asyncio.Event()
    clock.now = max(first["next_run"], second["next_run"])
    assert len(await scheduler.tick()) == 2
    await asyncio.wait_for(runs.entered.wait(), 10)
    assert len(runs.calls) == 1  # the second waits for its turn
    statuses = sorted(lv.outcome.status for lv in scheduler.live.values())
    assert statuses == ["running", "waiting"]
    assert await scheduler.tick() == []  # neither is started twice
    runs.gate.set()
    await settle(scheduler)
    [one, two] = runs.calls
    assert {one, two} == {first["_id"], second["_id"]}
    assert runs.log == [("start", one), ("end", one), ("start", two), ("end", two)]


async def test_removing_an_account_removes_its_runs(scheduler: Scheduler) -> None:
    account = await scheduler.accounts.create(MANIFEST, "Gone", {"login": "a"})
    await scheduler.launch(account["_id"])
    await settle(scheduler)
    assert await scheduler.remove(account["_id"])
    assert scheduler._collection(RUNS_DOCTYPE).find({"account": account["_id"]}) == []
    assert scheduler._collection(DOCTYPE).get(account["_id"]) is None
