"""Recovery keys: 160 random bits in Crockford base32 with a typo check, in groups of four."""
from __future__ import annotations

import hashlib
import os

from appliance.backup.engine.backuperrors import KEY_TYPO, WrongKey

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_VALUES = {c: n for n, c in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}
RANDOM_BYTES = 20
DATA_CHARS = 32  # 160 bits, 5 bits a character
CHECK_CHARS = 4  # 20 bits of SHA-256: a typo is caught before the slow key derivation
KEY_CHARS = DATA_CHARS + CHECK_CHARS


def _encode(number: int, chars: int) -> str:
    return "".join(ALPHABET[(number >> (5 * (chars - 1 - n))) & 31] for n in range(chars))


def _check(raw: bytes) -> str:
    digest = hashlib.sha256(b"hearth-recovery-key\0" + raw).digest()
    return _encode(int.from_bytes(digest[:3], "big") >> 4, CHECK_CHARS)


def generate() -> str:
    """Return a new recovery key in its canonical form (36 characters, no dashes)."""
    raw = os.urandom(RANDOM_BYTES)
    return _encode(int.from_bytes(raw, "big"), DATA_CHARS) + _check(raw)


def display(key: str) -> str:
    """Return a canonical key in groups of four, as printed on the emergency kit."""
    return "-".join(key[n:n + 4] for n in range(0, len(key), 4))


def parse(text: str) -> str:
    """Return the canonical form of a key as typed (any case, dashes, spaces, O for 0)."""
    cleaned = "".join(c for c in text.upper() if c not in " -\t\r\n")
    bad = sorted({c for c in cleaned if c not in _VALUES})
    if bad:
        raise WrongKey(f"the recovery key contains {', '.join(map(repr, bad))}, which a "
                       "recovery key never has; copy it again from the emergency kit",
                       code=KEY_TYPO)
    if len(cleaned) != KEY_CHARS:
        raise WrongKey(f"the recovery key has {len(cleaned)} characters instead of "
                       f"{KEY_CHARS} (9 groups of 4); copy it again from the emergency kit",
                       code=KEY_TYPO)
    canonical = "".join(ALPHABET[_VALUES[c]] for c in cleaned)
    number = 0
    for c in canonical[:DATA_CHARS]:
        number = number << 5 | _VALUES[c]
    if _check(number.to_bytes(RANDOM_BYTES, "big")) != canonical[DATA_CHARS:]:
        raise WrongKey("the recovery key has a typo (its last group doesn't match the "
                       "others); compare it with the emergency kit, group by group",
                       code=KEY_TYPO)
    return canonical
