"""Between URLs and Drive paths: percent-encoding, Unicode forms, and other hosts."""
from __future__ import annotations

import logging
import unicodedata
from urllib.parse import quote, unquote, urlsplit

from services.webdav.errors import DavError, bad_request

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def to_path(raw: str, prefix: str) -> str:
    """Return the Drive path a percent-encoded URL path under prefix names ("/" the root).

    Segments are decoded one by one, so "%2F" can't smuggle a slash; names are
    put in NFC, the form macOS's NFD names are stored in.
    """
    if raw.rstrip("/") == prefix.rstrip("/"):
        return "/"
    if not raw.startswith(prefix.rstrip("/") + "/"):
        raise DavError(502, f"{raw} is outside this box's WebDAV space ({prefix}).")
    names = []
    for segment in raw[len(prefix.rstrip("/")):].split("/"):
        if not segment:
            continue
        try:
            name = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            raise bad_request(f"The name {segment!r} is not UTF-8; rename it on the client "
                              "side and try again.") from None
        if name in (".", "..") or "/" in name or "\x00" in name:
            raise bad_request(f"The name {name!r} is not allowed in a path.")
        names.append(unicodedata.normalize("NFC", name))
    return "/" + "/".join(names)


def to_href(path: str, prefix: str, *, collection: bool = False) -> str:
    """Return the percent-encoded URL path of a Drive path (collections end with /)."""
    encoded = prefix.rstrip("/") + quote(path, safe="/")
    if collection and not encoded.endswith("/"):
        encoded += "/"
    return encoded


def _netloc(scheme: str, netloc: str) -> str:
    host, sep, port = netloc.lower().rpartition(":")
    if sep and not host.endswith("]") and "]" in port:
        host, port = netloc.lower(), ""  # a bare IPv6 literal, no port
    elif not sep:
        host, port = netloc.lower(), ""
    return f"{host}:{port or _DEFAULT_PORTS.get(scheme, '')}"


def from_url(url: str, *, scheme: str, host: str, prefix: str) -> str:
    """Return the Drive path an absolute URL or absolute path names (Destination, If tags).

    A URL on another host is a 502, as RFC 4918 says for COPY and MOVE.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise bad_request(f"{url!r} is not a URL.") from None
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise bad_request(f"{url!r} is not an http(s) URL.")
        if _netloc(parts.scheme, parts.netloc) != _netloc(scheme, host):
            raise DavError(502, f"{url} is on another server: copy or move across servers "
                                "by downloading and uploading instead.")
    elif not parts.path.startswith("/"):
        raise bad_request(f"{url!r} must be an absolute URL or start with /.")
    return to_path(parts.path, prefix)


def parent(path: str) -> str:
    """Return the path of the folder holding path ("/" for top-level names)."""
    return path.rsplit("/", 1)[0] or "/"


def is_within(path: str, ancestor: str) -> bool:
    """Return whether path is ancestor or somewhere beneath it."""
    return ancestor == "/" or path == ancestor or path.startswith(ancestor + "/")
