"""The connector contract: one class with an async fetch(ctx), and the errors it may raise."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import Any, BinaryIO, ClassVar, Protocol

from appliance.jobs.manifest import Manifest

# The error codes a connector reports; the scheduler acts on them (docs/connectors.md).
LOGIN_FAILED = "LOGIN_FAILED"
USER_ACTION_NEEDED = "USER_ACTION_NEEDED"  # may carry a detail: USER_ACTION_NEEDED.CGU
VENDOR_DOWN = "VENDOR_DOWN"
CHALLENGE_ASKED = "CHALLENGE_ASKED"
NETWORK = "NETWORK"
NOT_FOUND = "NOT_FOUND"  # what the fields name (a Drive folder, a mailbox) does not exist
UNKNOWN_ERROR = "UNKNOWN_ERROR"
CONNECTOR_CODES = (LOGIN_FAILED, USER_ACTION_NEEDED, VENDOR_DOWN, CHALLENGE_ASKED, NETWORK,
                   NOT_FOUND, UNKNOWN_ERROR)


class ConnectorError(Exception):
    """Raised by a connector to end its run with a known error code and a message."""

    def __init__(self, code: str, message: str = "") -> None:
        base = code.split(".", 1)[0]
        if base not in CONNECTOR_CODES:
            raise ValueError(f"unknown error code {code!r}; use one of {', '.join(CONNECTOR_CODES)}")
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}" if message else code)


class InputFile(Protocol):
    """A Drive file the run was given to read (a `drive_path` field names it)."""

    @property
    def path(self) -> str:
        """Return its path in the Drive, e.g. /Bank/2024-03.ofx."""

    @property
    def size(self) -> int:
        """Return its size in bytes."""

    def open(self) -> BinaryIO:
        """Return the file opened for reading, from its start."""


class Context(Protocol):
    """What a connector gets: its account's fields and the ways to send data home.

    Nothing else is reachable: records and files go to the box through `save`
    and `save_file`, which validates, deduplicates and stores them.
    """

    account_id: str
    fields: Mapping[str, str]
    session: dict[str, Any] | None
    logger: logging.Logger

    def inputs(self, field_name: str) -> Sequence[InputFile]:
        """Return the Drive files a `drive_path` field names (a file, or a folder's files)."""

    def ref(self, doctype: str, **keys: Any) -> str:
        """Return the id the record of `doctype` with these dedup keys has, or will have."""

    def save(self, doctype: str, record: Mapping[str, Any]) -> str:
        """Send a record; return its id (the same on every run, from its dedup keys)."""

    async def save_file(self, name: str, content: bytes | Iterable[bytes] | AsyncIterable[bytes],
                        *, folder: str = "", key: str | None = None) -> None:
        """Send a file for the Drive; a record may point to it with {"$file": key}."""

    async def ask(self, prompt: str, *, kind: str = "code") -> str:
        """Ask the owner a question (a two-factor code) and return the answer."""

    def save_session(self, session: dict[str, Any] | None) -> None:
        """Keep a session (cookies, tokens) sealed for the next run; None forgets it."""


class Connector:
    """Base class of every connector: a manifest and `async fetch(ctx)`.

    `fetch` runs in a subprocess with the account's fields, sends records and
    files through `ctx`, and returns when done. It ends a run in error by
    raising ConnectorError(code, message); any other exception is a crash
    (UNKNOWN_ERROR). Import heavy libraries inside `fetch`, not at module level:
    the box imports the module to read its manifest.
    """

    manifest: ClassVar[Manifest]

    async def fetch(self, ctx: Context) -> None:
        """Bring the account's data home."""
        raise NotImplementedError
