"""The repository's AEAD, chosen from the CPU, and the framing of every encrypted object."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from appliance.backup.engine.backuperrors import Unreadable
from appliance.backup.engine.compression import STORED, Compressor, unpack

logger = logging.getLogger(__name__)

CHACHA = "chacha20-poly1305"
AES_GCM = "aes-256-gcm"
NONCE = 12
TAG = 16
OVERHEAD = NONCE + TAG + 1  # nonce, tag, and the codec byte inside


def cpu_has_aes(cpuinfo: str) -> bool:
    """Tell whether /proc/cpuinfo text shows AES instructions (x86 flags, ARM Features)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features") and "aes" in value.split():
            return True
    return False


def choose_aead(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """Return AES-256-GCM on a CPU with AES instructions, else ChaCha20-Poly1305."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return CHACHA
    return AES_GCM if cpu_has_aes(text) else CHACHA


class Cipher:
    """Seals and opens objects: nonce ‖ AEAD(codec byte ‖ payload), bound to a context."""

    def __init__(self, aead: str, key: bytes) -> None:
        # cryptography (and its OpenSSL) loads with the first repository opened, not with
        # the daemon: a box that is not backing up keeps those megabytes free.
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        aeads: dict[str, Any] = {CHACHA: ChaCha20Poly1305, AES_GCM: AESGCM}
        self.name = aead
        self._aead = aeads[aead](key)
        self._invalid_tag = InvalidTag
        self._compressor = Compressor()

    def seal(self, data: Any, context: bytes, *, compress: bool = True) -> bytes:
        """Return data compressed where it pays, encrypted and authenticated with context."""
        codec, payload = self._compressor.pack(data) if compress else (STORED, data)
        nonce = os.urandom(NONCE)
        sealed: bytes = self._aead.encrypt(nonce, bytes((codec,)) + payload, context)
        return nonce + sealed

    def open(self, blob: bytes, context: bytes) -> bytes:
        """Return the data sealed in blob, or raise Unreadable if it was altered."""
        if len(blob) < OVERHEAD:
            raise Unreadable("too short")
        try:
            plain = self._aead.decrypt(blob[:NONCE], blob[NONCE:], context)
        except self._invalid_tag:
            raise Unreadable("authentication failed") from None
        try:
            return unpack(plain[0], plain[1:])
        except ValueError as exc:
            raise Unreadable(str(exc)) from None
