"""One run of a woob module: load it from the box's modules folder, log in, bring data home."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from appliance.jobs.connector import (CHALLENGE_ASKED, NOT_FOUND, ConnectorError, Context)
from services.connectors.bank_statements import ACCOUNTS, OPERATIONS
from services.connectors.bank_statements.model import References
from services.connectors.woob_bridge import records
from services.connectors.woob_bridge.errors import translated
from services.connectors.woob_bridge.install import modules_dir
from services.connectors.woob_bridge.storage import SessionStorage

BILLS = "io.hearth.bills"
# Hearth's fields → the config keys woob modules use for them, most usual first.
CONFIG_KEYS = {"login": ("login", "username", "userid", "email", "identifiant", "user"),
               "password": ("password", "pass", "secret", "pin", "code"),
               "website": ("website", "site", "region", "domain", "baseurl", "url")}
ASKS = 4  # questions a run may ask before giving up (a code, then perhaps another)
T = TypeVar("T")


class Bridge:
    """Runs one woob module for one account; woob's blocking calls go to a thread."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.module = ctx.fields["module"]
        self.interactive = bool(getattr(ctx, "interactive", False))
        session = ctx.session or {}
        self.storage = SessionStorage(session.get("woob"))
        self.known_bills: set[str] = set(session.get("bills", []))

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking woob call off the event loop."""
        return await asyncio.to_thread(func, *args)

    def build(self, answers: dict[str, Any]) -> Any:
        """Load the module and make its backend with the account's settings and state."""
        from woob.core.woob import WoobBase  # woob is optional and large: loaded in a run

        place = modules_dir(self.module, getattr(self.ctx, "system_dir", None))
        if place is None:
            raise ConnectorError(NOT_FOUND, f"the woob module {self.module!r} is not installed "
                                            f"on the box: press “Install this module” on the "
                                            f"account's page, or run: hearth connector "
                                            f"woob-install {self.module}")
        woob = WoobBase(modules_path=str(place))
        keys = set(woob.modules_loader.get_or_load_module(self.module).config)
        params: dict[str, Any] = {}
        for field, candidates in CONFIG_KEYS.items():
            value = self.ctx.fields.get(field, "")
            key = next((k for k in candidates if k in keys), None)
            if value and key:
                params[key] = value
            elif value:
                self.ctx.logger.warning("the %s module has no setting for %s", self.module, field)
        params.update(answers)
        backend = woob.build_backend(self.module, params, storage=self.storage, name=self.module)
        asked = backend.config.get("request_information")
        if self.interactive and asked is not None and asked.get() is None:
            asked.set({})  # woob's sign that someone is there to answer a two-factor question
        return backend

    async def run(self) -> None:
        """Bring the accounts, operations and bills home, answering the module's questions."""
        from woob.exceptions import BrowserQuestion, DecoupledValidation  # as in build

        answers: dict[str, Any] = {}
        for _ in range(ASKS):
            try:
                backend = await self.call(self.build, answers)
            except ConnectorError:
                raise
            except Exception as exc:
                raise self.translate(exc) from None
            try:
                await self.collect(backend)
                return
            except (BrowserQuestion, DecoupledValidation) as question:
                if not self.interactive:
                    raise ConnectorError(CHALLENGE_ASKED, f"{self.module} asks: {question}; "
                                                          f"use Run now to answer") from None
                answers.update(await self.answer(question))
            except ConnectorError:
                raise
            except Exception as exc:
                raise self.translate(exc) from None
            finally:
                await self.call(backend.deinit)  # keeps the browser's state in the storage
                self.ctx.save_session({"woob": self.storage.data,
                                       "bills": sorted(self.known_bills)})
        raise ConnectorError(CHALLENGE_ASKED, f"{self.module} kept asking questions")

    async def answer(self, question: Any) -> dict[str, Any]:
        """Ask the owner what the module wants; return the config values to run it again with."""
        from woob.exceptions import BrowserQuestion  # as in build

        if isinstance(question, BrowserQuestion):
            return {value.id: await self.ctx.ask(value.label or value.description or value.id,
                                                  kind="code") for value in question.fields}
        # A validation in the bank's app: the owner confirms here once it is done, and the
        # module resumes (woob's own console sets "resume" the same way).
        said = getattr(question, "message", "") or str(question)
        await self.ctx.ask(f"{said} — then answer OK here.", kind="confirm")
        return {"resume": True}

    def translate(self, exc: Exception) -> Exception:
        """Return the ConnectorError for a woob exception (any other stays a crash)."""
        return translated(exc, self.module) or exc

    async def collect(self, backend: Any) -> None:
        """Send what the module's capabilities bring: bank data, bills."""
        from woob.capabilities.bank import CapBank  # as in build
        from woob.capabilities.bill import CapDocument  # as in build

        if not isinstance(backend, (CapBank, CapDocument)):
            raise ConnectorError(NOT_FOUND, f"the woob module {self.module!r} brings neither "
                                            f"bank accounts nor bills")
        if isinstance(backend, CapBank):
            await self.bank(backend)
        if isinstance(backend, CapDocument):
            await self.bills(backend)

    async def bank(self, backend: Any) -> None:
        """Send every account and its operations."""
        login = self.ctx.fields.get("login", "")
        for account in await self.call(lambda: list(backend.iter_accounts())):
            record = records.account_record(self.module, login, account)
            account_id = self.ctx.save(ACCOUNTS, record)
            try:
                history = await self.call(lambda: list(backend.iter_history(account)))
            except NotImplementedError:
                self.ctx.logger.info("%s: no history for %s", self.module, record["label"])
                continue
            refs, sent = References(), 0
            for tr in history:
                op = records.operation_record(account_id, record["currency"], tr, refs,
                                              record["vendor_ref"])
                if op is not None:
                    self.ctx.save(OPERATIONS, op)
                    sent += 1
            self.ctx.logger.info("%s: %d operations", record["label"], sent)

    async def bills(self, backend: Any) -> None:
        """Send every bill not sent before, with its file."""
        for sub in await self.call(lambda: list(backend.iter_subscription())):
            documents = await self.call(lambda: list(backend.iter_documents(sub)))
            for doc in documents:
                if doc.id in self.known_bills:
                    continue
                record = records.bill_record(self.module, sub, doc)
                if records.value(doc, "has_file") is not False:
                    content = await self.call(backend.download_document, doc)
                    if content:
                        await self.ctx.save_file(records.file_name(self.module, doc), content,
                                                 folder=(record["date"] or "undated")[:4],
                                                 key=doc.id)
                        record["file"] = {"$file": doc.id}
                if record["amount"] is not None and record["date"] is not None:
                    self.ctx.save(BILLS, record)
                self.known_bills.add(doc.id)
