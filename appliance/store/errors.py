"""Errors raised by the document store, each with the HTTP status the data API answers."""

from __future__ import annotations

from appliance.errors import UserError


class StoreError(UserError):
    """The store can't do what was asked; the message says why and what to do."""

    status = 503


class StoreLocked(StoreError):
    """Another running Hearth holds the store folder."""


class DocumentConflict(StoreError):
    """A write was based on a stale revision, or the id is already taken."""

    status = 409


class DocumentNotFound(StoreError):
    """The document doesn't exist."""

    status = 404


class InvalidDocument(StoreError, ValueError):
    """A document (or its id) can't be stored as given."""

    status = 400


class InvalidDoctype(StoreError, ValueError):
    """A doctype name isn't a valid reverse-domain name."""

    status = 400


class InvalidSelector(StoreError, ValueError):
    """A find selector uses an unknown operator or a malformed argument."""

    status = 400
