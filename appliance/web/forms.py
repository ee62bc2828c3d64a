"""Reading posted forms safely."""
from __future__ import annotations

from urllib.parse import urlsplit

from collections.abc import Mapping


def text(form: Mapping[str, object], name: str, *, limit: int = 1024) -> str:
    """Return a text field of a posted form ('' if absent, a file, or too long)."""
    value = form.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        return ""
    return value


def local_path(target: str, default: str = "/") -> str:
    """Return `target` if it is a path on this site, else `default` (no open redirects)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target
