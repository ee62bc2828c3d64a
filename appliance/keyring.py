"""The box's master key on the system disk, and AEAD sealing of secrets at rest.

The master key is 32 random bytes in `<system>/keyring` (0600, made at first
use): on the SD card, never on the data disk, so a stolen data disk alone
reveals no password. Each owning document (a connector account) gets its own
key, HKDF-Expand(master, "hearth/seal/v1" + its id), computed with the standard
library; a secret is sealed with ChaCha20-Poly1305 under that key, with the
document's id as associated data: `v1.<base64url(nonce ‖ ciphertext ‖ tag)>`.

Sealing needs the cryptography package, whose OpenSSL would stay resident in the
daemon (see appliance/platform/certs.py). So the daemon derives keys here and
seals through a short-lived `python -m appliance.keyring` child
(`seal_in_child`); connector runs, already subprocesses, open and seal in process.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.durable import fsync_dir

logger = logging.getLogger(__name__)

KEY_FILE = "keyring"
KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "v1."
_HEADER = "hearth-keyring/1"
CHILD_TIMEOUT = 60.0


class KeyringError(Exception):
    """The keyring can't be read or made, or a sealed value can't be opened."""


class Keyring:
    """The master key in a system folder; made at first use, readable by its owner only."""

    def __init__(self, system_dir: Path) -> None:
        self.path = system_dir / KEY_FILE

    def master_key(self) -> bytes:
        """Return the master key, creating it (0600, fsynced) if there is none yet."""
        try:
            return self._read()
        except FileNotFoundError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(KEY_BYTES)
        temp = self.path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, f"{_HEADER} {base64.b64encode(key).decode()}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, self.path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
        fsync_dir(self.path.parent)
        logger.info("a new keyring was made in %s", self.path)
        return self._read()

    def _read(self) -> bytes:
        with self.path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_mode & 0o077:
                os.fchmod(fh.fileno(), 0o600)
                logger.warning("%s was readable by others; it is now private", self.path)
            text = fh.read(200).decode("ascii", "replace").split()
        try:
            if len(text) != 2 or text[0] != _HEADER:
                raise ValueError
            key = base64.b64decode(text[1], validate=True)
            if len(key) != KEY_BYTES:
                raise ValueError
        except (ValueError, binascii.Error):
            raise KeyringError(f"{self.path} is damaged: the secrets sealed with it can't be "
                               f"opened. Restore it from a backup of the system folder, or "
                               f"remove it and type the accounts' passwords again.") from None
        return key

    def key_for(self, owner_id: str) -> bytes:
        """Return the sealing key of one owning document."""
        return derive_key(self.master_key(), owner_id)


def derive_key(master: bytes, owner_id: str) -> bytes:
    """Return HKDF-Expand-SHA256(master, "hearth/seal/v1\\0" + owner_id, 32 bytes)."""
    info = b"hearth/seal/v1\0" + owner_id.encode()
    return hmac.new(master, info + b"\x01", hashlib.sha256).digest()


def seal(key: bytes, owner_id: str, plaintext: bytes) -> str:
    """Return plaintext sealed with ChaCha20-Poly1305, bound to `owner_id`."""
    # cryptography loads at the first seal, not with the idle daemon (tests/jobs/test_keyring.py)
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    nonce = os.urandom(NONCE_BYTES)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, plaintext, owner_id.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, owner_id: str, token: str) -> bytes:
    """Return what `seal` sealed, or raise KeyringError if it can't be opened."""
    # cryptography loads at the first unseal, not with the idle daemon
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    if not token.startswith(PREFIX):
        raise KeyringError("a sealed value has an unknown format")
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX):])
        return ChaCha20Poly1305(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                             owner_id.encode())
    except (InvalidTag, ValueError, binascii.Error):
        raise KeyringError("a sealed secret can't be opened: it belongs to another account, "
                           "was changed on the disk, or the keyring was replaced; type it "
                           "again") from None


async def seal_in_child(key: bytes, owner_id: str, values: Mapping[str, Any]
                        ) -> dict[str, str]:
    """Return each value (text, or JSON-ready data) sealed, by a short-lived child process."""
    request = json.dumps({"key": key.hex(), "owner": owner_id, "values": dict(values)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appliance.keyring", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(request.encode()), CHILD_TIMEOUT)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise KeyringError(f"the secrets could not be sealed: "
                           f"{err.decode(errors='replace').strip()[-300:]}")
    sealed: dict[str, str] = json.loads(out)["sealed"]
    return sealed


def _child() -> int:
    request = json.loads(sys.stdin.buffer.read())
    key, owner = bytes.fromhex(request["key"]), request["owner"]
    sealed = {}
    for name, value in request["values"].items():
        data = value.encode() if isinstance(value, str) else json.dumps(value).encode()
        sealed[name] = seal(key, owner, data)
    sys.stdout.write(json.dumps({"sealed": sealed}))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
