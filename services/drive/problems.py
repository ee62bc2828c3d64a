"""What the owner is told when the file tree refuses: a status, a headline, the tree's reason."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from appliance.web.guard import json_error
from appliance.files import (
    Conflict,
    Exists,
    FilesError,
    InvalidName,
    NoSpace,
    NotADirectory,
    NotEmpty,
    NotFound,
    TooLarge,
)
from appliance.i18n import N_
from appliance.web.shell import translator

# The headline is translated; the reason after it is the file tree's own words.
_HEADLINES: tuple[tuple[type[FilesError], str], ...] = (
    (InvalidName, N_("That name can't be used.")),
    (NotFound, N_("It isn't there any more.")),
    (Exists, N_("Something with that name is already there.")),
    (NotADirectory, N_("That is a file, not a folder.")),
    (NotEmpty, N_("That folder is not empty.")),
    (Conflict, N_("The file changed meanwhile.")),
    (NoSpace, N_("The data disk is full.")),
    (TooLarge, N_("The file is too large.")),
)
_OTHER = N_("That could not be done.")


@dataclass(frozen=True)
class Problem:
    """A refusal as the page shows it."""

    status: int
    headline: str
    reason: str

    def __str__(self) -> str:
        return f"{self.headline} {self.reason}".strip()


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def problem(request: web.Request, exc: FilesError) -> Problem:
    """Return what to tell the owner about `exc`, in the request's language."""
    _ = translator(request)
    headline = next((h for kind, h in _HEADLINES if isinstance(exc, kind)), _OTHER)
    return Problem(exc.status, _(headline), _sentence(exc.said(_)))


def json_problem(request: web.Request, exc: FilesError) -> web.HTTPException:
    """Return the JSON error a script gets for `exc` (`error` is ready to show)."""
    found = problem(request, exc)
    return json_error(found.status, str(found), kind=type(exc).__name__)
