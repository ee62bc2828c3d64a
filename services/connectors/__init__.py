"""Connectors: accounts and runs in the UI; the built-in connectors are its subpackages.

The service itself (`SERVICE`) is loaded only when asked for: a connector
subprocess imports this package to reach its connector, and must not pay for
the web pages.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "SERVICE":
        # The web pages load only when the platform asks for them (see the docstring).
        from services.connectors.service import SERVICE
        return SERVICE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
