"""Connector jobs: the contract, the sandboxed runs, accounts, and the scheduler.

This package is imported by every connector subprocess, so it stays light:
the daemon's parts (aiohttp, the store) load only when the daemon asks for them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the connector scheduler while the app runs (an app.cleanup_ctx entry)."""
    from appliance.jobs.daemon import scheduler_ctx as run
    return run(app)
