"""Hearth: a personal cloud in a small box at home."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hearthbox")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0+unknown"
