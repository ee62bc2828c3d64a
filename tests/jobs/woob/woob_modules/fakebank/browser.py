"""The fake bank's website is a small JSON API that the test serves on loopback."""
from __future__ import annotations

from woob.browser.browsers import LoginBrowser, StatesMixin, need_login
from woob.browser.exceptions import ClientError
from woob.exceptions import (ActionNeeded, AppValidation, BrowserIncorrectPassword,
                             BrowserQuestion, NeedInteractiveFor2FA)
from woob.tools.value import Value


class FakebankBrowser(LoginBrowser, StatesMixin):
    """Logs in (with an SMS code when the bank asks for one) and reads the API."""

    def __init__(self, config, *args, **kwargs):
        self.BASEURL = config["website"].get()
        self.config = config
        super().__init__(config["login"].get(), config["password"].get(), *args, **kwargs)

    @property
    def logged(self):
        return "sid" in self.session.cookies

    def do_login(self):
        form = {"login": self.username, "password": self.password}
        otp = self.config["otp"].get()
        if otp:
            form["otp"] = otp
        if self.config["resume"].get():
            form["resume"] = True
        try:
            answer = self.open("/login", json=form).json()
        except ClientError as exc:
            if exc.response.status_code == 401:
                raise BrowserIncorrectPassword("Identifiant ou mot de passe incorrect") from None
            if exc.response.status_code == 403:
                raise ActionNeeded("Acceptez les nouvelles conditions générales") from None
            raise
        if answer.get("need") == "otp":
            if self.config["request_information"].get() is None:
                raise NeedInteractiveFor2FA()
            raise BrowserQuestion(Value("otp", label="Code reçu par SMS"))
        if answer.get("need") == "app":
            if self.config["request_information"].get() is None:
                raise NeedInteractiveFor2FA()
            raise AppValidation("Validez la connexion dans l'application de votre banque")

    @need_login
    def get(self, path):
        return self.open(path).json()

    @need_login
    def pdf(self, path):
        return self.open(path).content
