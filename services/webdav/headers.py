"""The WebDAV request headers that are simple values: Depth, Overwrite, Timeout."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from services.webdav.errors import bad_request

logger = logging.getLogger(__name__)

INFINITY = -1
DEFAULT_TIMEOUT = 600  # seconds: a client that goes away frees its locks in ten minutes
MAX_TIMEOUT = 3600  # clients that want longer refresh their locks, as RFC 4918 expects

_DEPTHS = {"0": 0, "1": 1, "infinity": INFINITY}


def depth(headers: Mapping[str, str], *, default: int, allowed: tuple[int, ...]) -> int:
    """Return the Depth header (0, 1 or INFINITY), 400 if it is not one this method takes."""
    raw = headers.get("Depth")
    if raw is None:
        return default
    value = _DEPTHS.get(raw.strip().lower())
    if value is None or value not in allowed:
        names = " or ".join("infinity" if d == INFINITY else str(d) for d in allowed)
        raise bad_request(f"Depth: {raw} is not accepted here; send Depth: {names}.")
    return value


def overwrite(headers: Mapping[str, str]) -> bool:
    """Return the Overwrite header (T when absent), 400 for anything but T or F."""
    raw = headers.get("Overwrite", "T").strip().upper()
    if raw not in ("T", "F"):
        raise bad_request(f"Overwrite: {raw} is neither T nor F.")
    return raw == "T"


def timeout(headers: Mapping[str, str]) -> int:
    """Return the lock timeout in seconds: the first one asked for, at most MAX_TIMEOUT."""
    for part in headers.get("Timeout", "").split(","):
        part = part.strip()
        if part.lower() == "infinite":
            return MAX_TIMEOUT
        if part.lower().startswith("second-") and part[7:].isdigit():
            return max(1, min(int(part[7:]), MAX_TIMEOUT))
    return DEFAULT_TIMEOUT
