"""The Content-Disposition header for files sent to browsers."""
from __future__ import annotations

from urllib.parse import quote


def content_disposition(kind: str, name: str) -> str:
    """Return `kind` ("inline" or "attachment") naming the file, accents kept in filename*."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
