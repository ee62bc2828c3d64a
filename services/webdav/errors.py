"""WebDAV errors: a status, a message a person can act on, and maybe a DAV: precondition."""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class DavError(Exception):
    """A request WebDAV refuses; `condition` names the RFC 4918 pre/postcondition if any."""

    def __init__(self, status: int, message: str, *, condition: str | None = None,
                 href: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.condition = condition
        self.href = href
        self.headers = headers or {}


def bad_request(message: str) -> DavError:
    """Return a 400 error for a request whose syntax is wrong."""
    return DavError(400, message)


def locked(href: str) -> DavError:
    """Return the 423 error of a write to a locked resource without its lock token."""
    return DavError(423, f"{href} is locked by another client: wait until it lets go "
                         "(locks expire on their own), or send its lock token.",
                    condition="lock-token-submitted", href=href)


def precondition_failed(message: str) -> DavError:
    """Return a 412 error: an If, If-Match, If-None-Match or Overwrite header failed."""
    return DavError(412, message)
