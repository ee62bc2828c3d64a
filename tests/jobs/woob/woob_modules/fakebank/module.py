"""The fake bank as a woob module: accounts, their history, and bills with their PDF."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from woob.capabilities.bank import Account, CapBank, Transaction
from woob.capabilities.bill import Bill, CapDocument, DocumentTypes, Subscription
from woob.tools.backend import BackendConfig, Module
from woob.tools.value import Value, ValueBackendPassword, ValueTransient

from .browser import FakebankBrowser


class FakebankModule(Module, CapBank, CapDocument):
    NAME = "fakebank"
    DESCRIPTION = "Fake bank for tests"
    MAINTAINER = "Hearth"
    EMAIL = "tests@hearth.invalid"
    LICENSE = "LGPLv3+"
    BROWSER = FakebankBrowser
    CONFIG = BackendConfig(
        Value("login", label="Identifiant"),
        ValueBackendPassword("password", label="Mot de passe"),
        Value("website", label="Adresse du site", default="http://127.0.0.1"),
        ValueTransient("otp"),
        ValueTransient("resume"),
        ValueTransient("request_information"),
    )

    def create_default_browser(self):
        return self.create_browser(self.config)

    def iter_accounts(self):
        for item in self.browser.get("/accounts"):
            account = Account(id=item["id"])
            account.label = item["label"]
            account.number = item["number"]
            account.balance = Decimal(item["balance"])
            account.currency = "EUR"
            account.type = Account.TYPE_CHECKING if item["kind"] == "checking" \
                else Account.TYPE_SAVINGS
            yield account

    def iter_history(self, account):
        for item in self.browser.get(f"/accounts/{account.id}/history"):
            tr = Transaction(id=item.get("id") or "")
            tr.date = date.fromisoformat(item["date"])
            tr.rdate = tr.date
            tr.amount = Decimal(item["amount"])
            tr.label = item["label"]
            tr.raw = item["label"].upper()
            tr.type = Transaction.TYPE_CARD
            yield tr

    def iter_subscription(self):
        sub = Subscription(id="contrat-1")
        sub.label = "Assurance habitation"
        sub.subscriber = "M. Dupont"
        yield sub

    def iter_documents(self, subscription):
        for item in self.browser.get(f"/subscriptions/{subscription.id}/documents"):
            bill = Bill(id=f"{subscription.id}_{item['id']}")
            bill.date = date.fromisoformat(item["date"])
            bill.label = item["label"]
            bill.total_price = Decimal(item["amount"])
            bill.currency = "EUR"
            bill.format = "pdf"
            bill.type = DocumentTypes.BILL
            bill.url = f"/documents/{item['id']}.pdf"
            yield bill

    def download_document(self, document):
        return self.browser.pdf(document.url)
