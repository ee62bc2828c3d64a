"""Browsers the owner signed in with before: a signed cookie that lets them past the crowd.

When many clients guess at once, the login throttle's global limits refuse everyone;
a browser carrying this cookie is still let in (its own per-client limit still holds).
The cookie is `ISSUED.NONCE.MAC`, an HMAC-SHA256 with a key from the box's keyring, so
nobody without the key can make one; it says only that this browser signed in before.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

KNOWN_BROWSER_COOKIE = "hearth_known"
KNOWN_BROWSER_DAYS = 400  # browsers cap a cookie's life at 400 days
KEY_PURPOSE = "io.hearth.known-browsers"


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()


def known_browser_token(key: bytes, now: float) -> str:
    """Return a new cookie value for a browser that just signed in."""
    body = f"{int(now)}.{secrets.token_hex(8)}"
    return f"{body}.{_mac(key, body)}"


def is_known_browser(key: bytes, token: str, now: float) -> bool:
    """Return whether `token` was made with `key` and is younger than KNOWN_BROWSER_DAYS."""
    issued, dot, rest = token.partition(".")
    nonce, dot2, mac = rest.partition(".")
    if not (dot and dot2 and issued.isdigit() and token.isascii() and len(token) < 200):
        return False
    if not 0 <= now - int(issued) <= KNOWN_BROWSER_DAYS * 86400:
        return False
    return hmac.compare_digest(mac, _mac(key, f"{issued}.{nonce}"))
