"""Saying things in the box owner's language: notifications are stored as text."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from appliance.core import Core
from appliance.i18n import Catalogs, size_in


class OwnerSpeech:
    """Translates into the owner's language (English until there is an owner)."""

    def __init__(self, core: Callable[[], Core]) -> None:
        self._core = core
        self._catalogs = Catalogs()

    def language(self) -> str:
        """Return the owner's language (English until there is an owner)."""
        core = self._core()
        owner = core.owner if core.available else None
        return (owner.language if owner is not None else None) or "en"

    def say(self, message: str, **params: Any) -> str:
        """Translate a message into the owner's language."""
        text = self._catalogs.get(self.language()).gettext(message)
        return text % params if params else text

    def sizes(self) -> Callable[[int], str]:
        """Return a size formatter in the owner's language."""
        return size_in(self.language())

    def date(self, when: float) -> str:
        """Return a date and time in the owner's language."""
        from babel.dates import format_datetime  # its locale data loads when first needed

        return format_datetime(datetime.fromtimestamp(when), "medium", locale=self.language())
