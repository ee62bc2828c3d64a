"""The one error the helper answers with: a refusal whose message the user can act on."""
from __future__ import annotations


class Refused(Exception):
    """The helper would not, or could not, do what was asked; the message says why."""
