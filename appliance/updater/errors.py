"""Why an update did not happen: refused before anything changed, or installed and undone."""
from __future__ import annotations


class UpdateError(Exception):
    """An update was refused or rolled back; the message says why and what runs now."""


class RolledBack(UpdateError):
    """The update was installed but did not start, and the previous version was put back."""
