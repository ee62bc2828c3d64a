"""The user-error base: what a person reads when something is refused or fails.

A user error carries a message id (an `N_`-marked English sentence with named
`%(parameters)s`), its parameters and an HTTP status. It is translated where it is
rendered (appliance/web/errors.py: a page inside the shell, or JSON); `str()` gives the
English sentence, for the `hearth` command and the logs.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar


class UserError(Exception):
    """An error whose message is for a person; subclasses set the status it answers with."""

    status: ClassVar[int] = 400

    def __init__(self, message: str, /, *, status: int | None = None,
                 headers: Mapping[str, str] | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        if status is not None:
            self.status = status  # type: ignore[misc]  # an instance may answer otherwise
        self.headers: dict[str, str] = dict(headers or {})

    def said(self, translate: Callable[..., str]) -> str:
        """Return the message in translate's language: translate(message, **params)."""
        return translate(self.message, **self.params)
