"""File names that come from elsewhere (a mail attachment, a web server), made fit for the Drive."""
from __future__ import annotations

import os
import re
import unicodedata

from appliance.files import InvalidName, check_name
from appliance.files.names import NAME_MAX

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(raw: str, fallback: str) -> str:
    """Return `raw` as a name the Drive takes (no folders, no control characters), else `fallback`."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").rstrip(". ")
    stem, ext = os.path.splitext(name)
    ext = ext[:16]
    room = NAME_MAX - len(ext.encode("utf-8"))
    name = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ") + ext
    try:
        return check_name(name)
    except InvalidName:  # empty, or a name Windows keeps for a device
        return check_name(fallback)
