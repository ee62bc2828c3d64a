"""The owner's passphrase: scrypt hashing, verification and a strength check."""
from __future__ import annotations

import base64
import hmac
import os
import unicodedata

from appliance.i18n import N_

# n=2**15, r=8 costs 32 MiB and about half a second on a Pi 2: slow for a guesser,
# bearable for the owner, and well inside the box's memory.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_LENGTH = 10
MAX_LENGTH = 1024

_COMMON = {
    "password", "motdepasse", "azerty", "qwerty", "123456", "hearth", "letmein",
    "admin", "welcome", "bienvenue", "soleil", "iloveyou", "jetaime", "monkey",
    "dragon", "football", "baseball", "abc123", "sunshine", "princess", "secret",
}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _normal(passphrase: str) -> bytes:
    # NFC so that the same passphrase typed on a Mac and on a phone matches.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _scrypt(salt: bytes, n: int, r: int, p: int, secret: bytes) -> bytes:
    # Imported here: cryptography's own OpenSSL costs the idle daemon ~6 MiB, and
    # passphrases are only checked at sign-in.
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def hash_passphrase(passphrase: str, *, n: int = SCRYPT_N) -> str:
    """Return a self-describing scrypt hash of the passphrase."""
    salt = os.urandom(16)
    key = _scrypt(salt, n, SCRYPT_R, SCRYPT_P, _normal(passphrase))
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_passphrase(passphrase: str, stored: str) -> bool:
    """Return whether the passphrase matches the stored hash (constant time)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _scrypt(base64.b64decode(salt), int(n), int(r), int(p), _normal(passphrase))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, base64.b64decode(key))


def strength_problem(passphrase: str, *, context: tuple[str, ...] = ()) -> str | None:
    """Return why a new passphrase is too weak (an English msgid), or None if it will do."""
    if len(passphrase) > MAX_LENGTH:
        return N_("This passphrase is too long.")
    if len(passphrase) < MIN_LENGTH:
        return N_("This passphrase is too short: use at least 10 characters. "
                "A few unrelated words are easy to remember and hard to guess.")
    lowered = passphrase.lower()
    words = {w.lower() for w in context if len(w) >= 4}
    squeezed = "".join(ch for ch in lowered if ch.isalpha())
    if squeezed in _COMMON or any(lowered.startswith(c) and len(lowered) - len(c) < 6
                                  for c in _COMMON | words):
        return N_("This passphrase is too common: add a few unrelated words.")
    if len(set(passphrase)) < 5:
        return N_("This passphrase repeats too few characters: add a few unrelated words.")
    steps = {ord(b) - ord(a) for a, b in zip(passphrase, passphrase[1:])}
    if len(steps) <= 1:
        return N_("This passphrase is a simple sequence: add a few unrelated words.")
    classes = sum([any(c.islower() for c in passphrase), any(c.isupper() for c in passphrase),
                   any(c.isdigit() for c in passphrase),
                   any(not c.isalnum() for c in passphrase)])
    if len(passphrase) < 14 and classes < 2:
        return N_("This passphrase is too easy to guess: make it longer, "
                "or mix letters with digits or symbols.")
    return None
