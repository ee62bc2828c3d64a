"""Connector jobs: the contract, the sandboxed runs, accounts, and the scheduler.

This package is imported by every connector subprocess, so it stays light:
the daemon's parts (aiohttp, the store) load only when the daemon asks for them.
"""
from __future__ import annotations
