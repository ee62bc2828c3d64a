"""The scheduler: runs each account when it is due, a few at a time, and keeps their runs."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.jobs import outcome as codes
from appliance.jobs import policy
from appliance.jobs.accounts import DOCTYPE, RUNS_DOCTYPE, Accounts
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import InstalledConnector
from appliance.jobs.run import KEEP
from appliance.keyring import Keyring
from appliance.store import Collection

if TYPE_CHECKING:
    from appliance.core import Core

logger = logging.getLogger(__name__)

RUNS_KEPT = 30  # per account
ANSWER_TIMEOUT = 300.0
MAX_SLEEP = 60.0


@dataclass
class Live:
    """A run that is waiting or running: its outcome so far and the owner's answer box."""

    run_id: str
    account_id: str
    trigger: str
    outcome: Outcome = field(default_factory=Outcome)
    task: asyncio.Task[None] | None = None
    answer: asyncio.Future[str] | None = None


class Scheduler:
    """Starts due runs (at most `max_runs` at once), records them, and applies the policy."""

    def __init__(self, core: Callable[[], Core | None], *, keyring: Keyring,
                 entries: Callable[[], Mapping[str, InstalledConnector]], max_runs: int = 1,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 executor: Callable[..., Any] = execute) -> None:
        self._core, self._entries, self._clock = core, entries, clock
        self._rng = rng or random.Random()
        self._keyring, self._execute = keyring, executor
        self._slots = asyncio.Semaphore(max(1, max_runs))
        self.accounts = Accounts(lambda: self._collection(DOCTYPE), keyring, clock=clock,
                                 rng=self._rng)
        self.live: dict[str, Live] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    def _collection(self, doctype: str) -> Collection:
        core = self._core()
        if core is None or not core.available:
            raise LookupError("the data disk is out of reach")
        return core.collections[doctype]

    def ready(self) -> bool:
        """Return whether accounts can be read and run now (data disk present)."""
        core = self._core()
        return core is not None and core.available and DOCTYPE in core.collections

    def entries(self) -> Mapping[str, InstalledConnector]:
        """Return the installed connectors by slug."""
        return self._entries()

    async def start(self) -> None:
        """Close runs a previous daemon left open, plan missed runs once, start the loop."""
        if self.ready():
            await self.recover()
        self._loop_task = asyncio.create_task(self._loop())

    async def recover(self) -> None:
        """Mark runs left open by a stopped daemon interrupted; plan missed runs once."""
        runs = self._collection(RUNS_DOCTYPE)
        for doc in runs.find({"status": {"$in": ["running", "waiting"]}}):
            doc.update(status="failed", error=codes.INTERRUPTED,
                       message="Hearth stopped during this run")
            await runs.put(doc)
        now = self._clock()
        for account in self.accounts.list():
            when = policy.catch_up(account, now, self._rng)
            if when is not None:
                logger.info("%s missed a run while the box was off; it runs once soon",
                            account["label"])
                await self.accounts.change(account["_id"], {"next_run": when})

    async def stop(self) -> None:
        """Stop the loop and every run (their subprocesses are killed)."""
        tasks = [t for t in (self._loop_task, *(lv.task for lv in self.live.values())) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        """Look at the accounts again now (one was added, changed or asked to run)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            delay = MAX_SLEEP
            try:
                if self.ready():
                    await self.tick()
                    delay = self._until_next()
            except Exception:  # a bad account must not stop every other one
                logger.exception("the connector scheduler hit an error; it goes on")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(1.0, min(delay, MAX_SLEEP)))

    def _until_next(self) -> float:
        times = [float(a["next_run"]) for a in self.accounts.list()
                 if policy.is_due(a, float("inf")) and self.running(a["_id"]) is None]
        return min(times) - self._clock() if times else MAX_SLEEP

    def running(self, account_id: str) -> Live | None:
        """Return the account's run in progress, if any."""
        return next((lv for lv in self.live.values() if lv.account_id == account_id), None)

    async def tick(self) -> list[str]:
        """Start every due run that is not running yet; return their run ids."""
        now = self._clock()
        started = []
        for account in self.accounts.list():
            if policy.is_due(account, now) and self.running(account["_id"]) is None:
                started.append(await self.launch(account["_id"], "scheduled"))
        return started

    async def launch(self, account_id: str, trigger: str = "manual") -> str:
        """Queue a run of the account (a manual one may ask the owner questions)."""
        current = self.running(account_id)
        if current is not None:
            return current.run_id
        account = self.accounts.get(account_id)
        if account is None:
            raise LookupError(f"there is no account {account_id}")
        run_id = uuid.uuid4().hex
        live = Live(run_id, account_id, trigger, Outcome(started_at=self._clock(),
                                                         status="waiting"))
        await self._collection(RUNS_DOCTYPE).create({
            "_id": run_id, "account": account_id, "connector": account["connector"],
            "trigger": trigger, "status": "waiting", "started_at": live.outcome.started_at})
        self.live[run_id] = live
        live.task = asyncio.create_task(self._guarded(live))
        return run_id

    async def answer(self, run_id: str, value: str) -> bool:
        """Give the owner's answer to the question a run asked; tell if one was waiting."""
        live = self.live.get(run_id)
        if live is None or live.answer is None or live.answer.done():
            return False
        live.answer.set_result(value)
        return True

    async def _guarded(self, live: Live) -> None:
        try:
            async with self._slots:
                live.outcome.status = "running"
                live.outcome.started_at = self._clock()
                await self._run(live)
        except asyncio.CancelledError:
            live.outcome.fail(codes.INTERRUPTED, "Hearth stopped during this run")
            await asyncio.shield(self._finish(live, KEEP))
            raise
        except Exception as exc:
            logger.exception("the run of account %s failed", live.account_id)
            live.outcome.fail(codes.CRASHED, f"the run could not be carried out: {exc}")
            await self._finish(live, KEEP)
        finally:
            self.live.pop(live.run_id, None)

    async def _run(self, live: Live) -> None:
        core = self._core()
        account = self.accounts.get(live.account_id)
        entry = self._entries().get(account["connector"]) if account else None
        if core is None or account is None or entry is None:
            live.outcome.fail(codes.CRASHED, "the connector of this account is not installed "
                              "any more, or the data disk is out of reach")
            return await self._finish(live, KEEP)
        key = await asyncio.to_thread(self._keyring.key_for, account["_id"])
        order = Order(entry.manifest, account["_id"], account["label"], account["fields"], key,
                      sealed=account.get("sealed", {}), session=account.get("session"),
                      ask=self._asker(live) if live.trigger == "manual" else None)
        _, session = await self._execute(core, order, live.outcome)
        await self._finish(live, session)

    def _asker(self, live: Live) -> Callable[[dict[str, Any]], Any]:
        async def ask(question: dict[str, Any]) -> str:
            live.answer = asyncio.get_running_loop().create_future()
            try:
                return await asyncio.wait_for(live.answer, ANSWER_TIMEOUT)
            except TimeoutError:
                return ""
            finally:
                live.answer = None
        return ask

    async def _finish(self, live: Live, session: Any) -> None:
        out = live.outcome
        if out.ended_at is None:
            out.ended_at = self._clock()
        if out.running or out.status == "waiting":
            out.status = "ok"
        if not self.ready():
            return
        runs = self._collection(RUNS_DOCTYPE)
        doc = runs.get(live.run_id)
        if doc is not None:
            doc.update(status=out.status, error=out.error, message=out.message,
                       ended_at=out.ended_at, started_at=out.started_at, log=out.log,
                       dropped_log=out.dropped_log, peak_mib=out.peak_mib, **out.counts())
            await runs.put(doc)
        await self._apply(live, session)
        await self._prune(live.account_id)

    async def _apply(self, live: Live, session: Any) -> None:
        account = self.accounts.get(live.account_id)
        entry = self._entries().get(account["connector"]) if account else None
        if account is None or entry is None:
            return
        out = live.outcome
        change = policy.after_run(entry.manifest, account, out.error, self._clock(), self._rng)
        fields = {**change.fields, "last_run": {"id": live.run_id, "status": out.status,
                                                "error": out.error, "ended_at": out.ended_at}}
        if session is not KEEP:
            fields["session"] = session
        await self.accounts.change(account["_id"], fields)
        if change.state_changed:
            logger.info("account %s is now %s%s", account["label"], fields["state"],
                        f" ({out.error}: {out.message})" if out.error else "")
        core = self._core()
        if change.notify and core is not None:
            await core.notifications.add(
                "connectors.needs_user", policy.needs_you(out.error),
                f"{account['label']}: {out.message or out.error}",
                about={"doctype": DOCTYPE, "id": account["_id"],
                       "href": f"/apps/connectors/accounts/{account['_id']}"})

    async def _prune(self, account_id: str) -> None:
        runs = self._collection(RUNS_DOCTYPE)
        old = runs.find({"account": account_id}, sort=[{"started_at": "desc"}], skip=RUNS_KEPT)
        for doc in old:
            await runs.delete(doc["_id"], doc["_rev"])

    async def remove(self, account_id: str) -> bool:
        """Stop the account's run, delete it and its runs; tell if it existed."""
        live = self.running(account_id)
        if live is not None and live.task is not None:
            live.task.cancel()
            await asyncio.gather(live.task, return_exceptions=True)
        for doc in self._collection(RUNS_DOCTYPE).find({"account": account_id}):
            await self._collection(RUNS_DOCTYPE).delete(doc["_id"], doc["_rev"])
        return await self.accounts.remove(account_id)
