"""The repository's random keys, wrapped by the recovery key with scrypt and an AEAD."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any


from appliance.backup.engine.backuperrors import BackupError, WrongKey

SCRYPT_N = 1 << 15  # 32 MiB and about a second on a Raspberry Pi 2
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not base64 text")
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True)
class MasterKeys:
    """What the recovery key unlocks: the encryption key, the chunk-id key, the chunker seed."""

    encryption: bytes
    chunk_id: bytes
    chunker_seed: int

    @classmethod
    def generate(cls) -> MasterKeys:
        """Return fresh random keys."""
        # pyfastcdc takes 1 to 2**63 - 1 (0 means "no seed"; it shifts the seed left by one)
        seed = struct.unpack("<Q", os.urandom(8))[0] >> 2 | 1
        return cls(os.urandom(KEY_BYTES), os.urandom(KEY_BYTES), seed)


def _kek(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * r * n + (1 << 20), dklen=KEY_BYTES)


def _context(repo_id: str) -> bytes:
    return b"hearth-backup/key\0" + repo_id.encode("ascii")


def wrap(keys: MasterKeys, password: str, repo_id: str) -> dict[str, Any]:
    """Return the key file's JSON: the keys sealed under scrypt(password)."""
    # cryptography loads when a repository is made or opened, not with the idle daemon.
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    salt, nonce = os.urandom(32), os.urandom(12)
    plain = json.dumps({"encryption": _b64(keys.encryption), "chunk_id": _b64(keys.chunk_id),
                        "chunker_seed": keys.chunker_seed}).encode()
    sealed = ChaCha20Poly1305(_kek(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, plain, _context(repo_id))
    return {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt),
            "aead": "chacha20-poly1305", "nonce": _b64(nonce), "data": _b64(sealed)}


def unwrap(doc: Any, password: str, repo_id: str, where: str) -> MasterKeys:
    """Return the keys in a key file's JSON, or raise WrongKey."""
    # cryptography loads when a repository is made or opened, not with the idle daemon.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    try:
        if doc["kdf"] != "scrypt" or doc["aead"] != "chacha20-poly1305":
            raise BackupError(f"{where} uses {doc['kdf']}/{doc['aead']}, which this Hearth "
                              "doesn't know; update Hearth")
        n, r, p = int(doc["n"]), int(doc["r"]), int(doc["p"])
        salt, nonce, sealed = _unb64(doc["salt"]), _unb64(doc["nonce"]), _unb64(doc["data"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BackupError(f"{where} is damaged (unreadable key file); use another copy of "
                          "the repository, if there is one") from None
    try:
        plain = ChaCha20Poly1305(_kek(password, salt, n, r, p)).decrypt(
            nonce, sealed, _context(repo_id))
    except InvalidTag:
        raise WrongKey("the recovery key doesn't open this backup repository: it is the key "
                       "of another repository, or the key file was damaged. Check that it "
                       "is the key printed on this box's emergency kit") from None
    fields = json.loads(plain)
    return MasterKeys(_unb64(fields["encryption"]), _unb64(fields["chunk_id"]),
                      int(fields["chunker_seed"]))
