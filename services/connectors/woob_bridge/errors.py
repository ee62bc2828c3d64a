"""woob's exceptions as Hearth's error codes."""
from __future__ import annotations

from appliance.jobs.connector import (CHALLENGE_ASKED, LOGIN_FAILED, NOT_FOUND,
                                      USER_ACTION_NEEDED, VENDOR_DOWN, ConnectorError)


def translated(exc: BaseException, module: str) -> ConnectorError | None:
    """Return the ConnectorError a woob exception stands for, or None if it is a bug."""
    # woob (and requests, which comes with it) is optional: loaded only in a woob run.
    import requests
    from woob.browser.exceptions import HTTPNotFound, ServerError  # likewise
    from woob.exceptions import (ActionNeeded, BrowserForbidden,  # likewise
                                 BrowserIncorrectPassword, BrowserInteraction,
                                 BrowserUnavailable, ModuleLoadError, NeedInteractive)
    from woob.tools.backend import Module  # likewise

    said = str(exc).strip()
    if isinstance(exc, BrowserIncorrectPassword):
        return ConnectorError(LOGIN_FAILED, said or f"{module} refused the login and password")
    if isinstance(exc, Module.ConfigError):
        return ConnectorError(LOGIN_FAILED, f"the {module} module wants other settings: {said}")
    if isinstance(exc, ActionNeeded):
        return ConnectorError(USER_ACTION_NEEDED, said or f"{module} wants you to do something "
                                                          f"on its website first")
    if isinstance(exc, BrowserForbidden):
        return ConnectorError(USER_ACTION_NEEDED, said or f"{module} refused access: check "
                                                          f"your account on its website")
    if isinstance(exc, NeedInteractive):
        return ConnectorError(CHALLENGE_ASKED, f"{module} asks for a confirmation (a code): "
                                               f"use Run now on the account's page to answer")
    if isinstance(exc, BrowserInteraction):  # a redirect to a page only a browser can follow
        return ConnectorError(USER_ACTION_NEEDED, f"{module} wants a step Hearth can't do "
                                                  f"({type(exc).__name__}); the module can't "
                                                  f"be used as is")
    if isinstance(exc, ModuleLoadError):
        return ConnectorError(NOT_FOUND, f"the woob module {module!r} can't be loaded ({said}); "
                                         f"install it on the box: see docs/connectors.md, "
                                         f"Built-in: woob")
    if isinstance(exc, (BrowserUnavailable, ServerError, requests.ConnectionError,
                        requests.Timeout)):
        return ConnectorError(VENDOR_DOWN, f"{module}'s website is unavailable "
                                           f"({said or type(exc).__name__}); Hearth will "
                                           f"try again later")
    if isinstance(exc, HTTPNotFound):
        return ConnectorError(VENDOR_DOWN, f"{module}'s website changed ({said}); "
                                           f"the module may need an update")
    return None
