"""Errors raised by the document store."""

from __future__ import annotations


class StoreError(Exception):
    """The store can't do what was asked; the message says why and what to do."""


class StoreLocked(StoreError):
    """Another running Hearth holds the store folder."""


class Conflict(StoreError):
    """A write was based on a stale revision, or the id is already taken."""


class NotFound(StoreError):
    """The document doesn't exist."""


class InvalidDocument(StoreError, ValueError):
    """A document (or its id) can't be stored as given."""


class InvalidDoctype(StoreError, ValueError):
    """A doctype name isn't a valid reverse-domain name."""


class InvalidSelector(StoreError, ValueError):
    """A find selector uses an unknown operator or a malformed argument."""
